"""PostgreSQL from the Debian package: one cluster under ``<data_dir>/postgres``, run through ``pg_ctl``.

PostgreSQL refuses to run as root, so when the stack runs as root the cluster is created and run as
Debian's ``postgres`` user (``runuser -u postgres --``); the directories above ``<data_dir>/postgres`` get
the ``o+x`` (traverse-only) bit where that user could not otherwise reach its cluster. Auth is ``trust`` on
loopback, and the server only listens on 127.0.0.1. Run as a normal user, the cluster belongs to that user.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from infra.local.services.base import Service
from infra.local.services.common import (
    StackError,
    log,
    log_mark,
    log_tail,
    pid_alive,
    port_open,
    read_pid,
    run_checked,
    terminate,
)
from memory.settings import Settings


class Postgres(Service):
    name = "postgres"
    default_timeout = 60.0
    stop_timeout = 60.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        dsn = urlsplit(settings.postgres_dsn)
        self.host = dsn.hostname or "127.0.0.1"
        self.port = dsn.port or 5432
        self.user = unquote(dsn.username or "memstream")
        self.password = unquote(dsn.password) if dsn.password else None
        self.dbname = unquote(dsn.path.lstrip("/")) or self.user
        self.root = self.data / "postgres"
        self.pgdata = self.root / "data"
        socket_dir = self.root / "socket"
        # Unix socket paths are limited to ~107 bytes; deep data dirs fall back to a per-cluster dir in /tmp.
        if len(str(socket_dir / f".s.PGSQL.{self.port}")) > 100:
            digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:10]
            socket_dir = Path(tempfile.gettempdir()) / f"memstream-pg-{digest}"
        self.socket_dir = socket_dir
        self.as_root = os.geteuid() == 0

    def endpoint(self) -> str:
        return f"postgresql://{self.host}:{self.port}/{self.dbname}"

    @staticmethod
    def bindir() -> Path | None:
        versions = sorted(
            (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "pg_ctl").exists()),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        )
        if versions:
            return versions[-1]
        pg_ctl = shutil.which("pg_ctl")
        return Path(pg_ctl).resolve().parent if pg_ctl else None

    def bin(self, tool: str) -> str:
        bindir = self.bindir()
        if bindir is None:
            raise StackError("PostgreSQL binaries not found; run: infra/local/stack.py install postgres")
        return str(bindir / tool)

    def apt_packages(self) -> list[str]:
        return [] if self.bindir() else ["postgresql"]

    def _as_pg(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_root else argv

    def _own(self, *paths: Path) -> None:
        if self.as_root:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def _ensure_traversable(self) -> None:
        """Gives the directories above the cluster o+x when the postgres user cannot reach it."""
        if not self.as_root:
            return
        if subprocess.run(self._as_pg(["test", "-x", str(self.root)]), check=False, cwd="/").returncode == 0:
            return
        for parent in reversed(self.root.parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                log.info("postgres: adding o+x to %s so the postgres user can reach its cluster", parent)
                parent.chmod(mode | stat.S_IXOTH)

    def install(self) -> None:
        if self.as_root:
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise StackError("OS user 'postgres' missing; reinstall the postgresql package") from exc
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.root, self.socket_dir)
        self._ensure_traversable()
        if (self.pgdata / "PG_VERSION").exists():
            return
        log.info("postgres: initdb %s", self.pgdata)
        run_checked(
            self._as_pg(
                [
                    self.bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=trust",
                ]
            ),
            "initdb",
            cwd=self.root,
        )
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n# memstream: settings managed by infra/local/stack.py\n")
            fh.write("include_if_exists = 'memstream.conf'\n")

    def _write_conf(self) -> None:
        conf = self.pgdata / "memstream.conf"
        sock = str(self.socket_dir).replace("'", "''")
        conf.write_text(
            "# Generated by infra/local/stack.py on every start.\n"
            f"listen_addresses = '{self.host}'\nport = {self.port}\nunix_socket_directories = '{sock}'\n"
            "max_connections = 100\nshared_buffers = 128MB\nfsync = on\n"
            "logging_collector = off\nlog_min_messages = warning\nlog_line_prefix = '%m [%p] '\n"
        )
        self._own(conf)

    def running_pid(self) -> int | None:
        pid = read_pid(self.pgdata / "postmaster.pid")
        return pid if pid is not None and pid_alive(pid) else None

    def healthy(self) -> bool:
        out = subprocess.run(
            [self.bin("pg_isready"), "-q", "-h", self.host, "-p", str(self.port), "-t", "2"], check=False
        )
        return out.returncode == 0

    def _psql(self, user: str, db: str, sql: str) -> str:
        env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
        if user == self.user and self.password:
            env["PGPASSWORD"] = self.password
        out = run_checked(
            [
                self.bin("psql"),
                "-X",
                "-q",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                user,
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            f"psql ({sql.split()[0]})",
            env=env,
        )
        return out.stdout.strip()

    def ready_hook(self) -> None:
        role, db = _ident(self.user, "role"), _ident(self.dbname, "database")
        if self._psql("postgres", "postgres", f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") != "1":
            pw = f" PASSWORD '{self.password.replace(chr(39), chr(39) * 2)}'" if self.password else ""
            self._psql("postgres", "postgres", f'CREATE ROLE "{role}" LOGIN CREATEDB{pw}')
            log.info("postgres: created role %s", role)
        if self._psql("postgres", "postgres", f"SELECT 1 FROM pg_database WHERE datname = '{db}'") != "1":
            self._psql("postgres", "postgres", f'CREATE DATABASE "{db}" OWNER "{role}"')
            log.info("postgres: created database %s", db)
        self._psql(self.user, self.dbname, "SELECT 1")

    def launch(self, timeout: float) -> None:
        if port_open(self.host, self.port):
            raise StackError(
                f"cannot start postgres: {self.host}:{self.port} is already in use by a server "
                f"this stack did not start (no live postmaster for {self.pgdata})"
            )
        self._write_conf()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._log_offset = log_mark(self.log_file, self.name)
        self._own(self.log_file)
        out = subprocess.run(
            self._as_pg(
                [
                    self.bin("pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            start_new_session=True,
        )
        if out.returncode != 0:
            raise StackError(
                f"pg_ctl start failed; see {self.log_file}\n{out.stdout}{out.stderr}\n"
                f"{log_tail(self.log_file, self._log_offset)}"
            )
        pid = self.running_pid()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if pid is not None:
            self.pid_file.write_text(f"{pid}\n")
        log.info("postgres: started pid %s (log %s)", pid, self.log_file)

    def stop(self, timeout: float) -> None:
        if self.running_pid() is not None:
            log.info("postgres: stopping (pg_ctl stop -m fast)")
            out = subprocess.run(
                self._as_pg(
                    [self.bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(int(timeout)), "stop"]
                ),
                capture_output=True,
                text=True,
                check=False,
                cwd=self.root,
            )
            pid = self.running_pid()
            if out.returncode != 0 and pid is not None:
                log.warning("pg_ctl stop failed (%s); signalling pid %d", out.stderr.strip(), pid)
                terminate(pid, 10, self.name)
        self.pid_file.unlink(missing_ok=True)


def _ident(value: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise StackError(f"unsupported PostgreSQL {what} name {value!r} (letters, digits, underscore only)")
    return value
