#!/usr/bin/env python3
"""Local service stack for memstream without Docker: Kafka (KRaft), Neo4j, PostgreSQL and Redis.

Usage::

    python infra/local/stack.py {install,start,stop,restart,status} [kafka neo4j postgres redis] [--timeout S]

Importable too: ``install(settings)``, ``start(settings)``, ``stop(settings)``, ``restart(settings)`` and
``status(settings)`` each take an optional ``services`` list (default: all four). Standard library only;
the Kafka and Neo4j readiness checks use ``confluent_kafka`` / ``neo4j`` when importable (the project venv)
and fall back to a raw Kafka ApiVersions request / Bolt handshake otherwise.

Everything lives under ``Settings.data_dir`` (``.data`` by default, ignored by git)::

    jars/kafka, jars/neo4j      jars resolved by Maven from infra/local/maven/*-pom.xml (redone on pom change)
    kafka/                      server.properties, log4j2.properties, cluster-id, data/ (KRaft log dirs)
    neo4j/                      embedded Neo4j home (infra/local/neo4j/MemstreamNeo4j.java)
    postgres/                   owned by the ``postgres`` OS user when run as root: data/ (PGDATA), socket/
    redis/                      redis.conf and the (unused) dump directory
    run/<service>.pid           PIDs of the detached processes
    logs/<service>.log          service logs (kafka.out and neo4j/logs/debug.log hold the rest)

PostgreSQL refuses to run as root, so when this runs as root the cluster is created and run as Debian's
``postgres`` user (``runuser -u postgres --``); the directories above ``<data_dir>/postgres`` get the
``o+x`` (traverse-only) bit where that user could not otherwise reach its cluster. Auth is ``trust`` on
loopback, and the server only listens on 127.0.0.1. Run as a normal user, the cluster belongs to that user.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
# Run as a script, sys.path[0] is this folder, whose neo4j/ subfolder would shadow the neo4j driver package.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    sys.path.pop(0)
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from memory.settings import Settings  # noqa: E402

# Start order: the slow JVMs launch first so their start-ups overlap with the rest (stop runs in reverse).
SERVICES: tuple[str, ...] = ("neo4j", "kafka", "postgres", "redis", "milvus")
CLI_ORDER: tuple[str, ...] = ("kafka", "neo4j", "postgres", "redis", "milvus")

log = logging.getLogger("memstream.stack")


class StackError(RuntimeError):
    """A service could not be installed, started or stopped; the message says where to look."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    up: bool
    pid: int | None
    endpoint: str
    detail: str = ""


# ----------------------------------------------------------------------------------------------- helpers


def _host_port(value: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``scheme://host:port/...`` or a comma list of those (first wins)."""
    first = value.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"//{first}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    """True for a live process; zombies (exited, not yet reaped) count as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that just exited
            return False
    try:
        fields_after_comm = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields_after_comm[0] not in ("Z", "X")


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _terminate(pid: int, timeout: float, name: str) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    log.warning("%s (pid %d) ignored SIGTERM for %.0fs; sending SIGKILL", name, pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    raise StackError(f"{name} (pid {pid}) survived SIGKILL")


# Launches argv in a new session via a short-lived intermediate interpreter, so the service is never a child
# of the caller: it outlives the CLI, and a long-running importer (pytest) neither collects zombies nor gets
# "subprocess still running" ResourceWarnings.
_DETACH = (
    "import os, subprocess, sys\n"
    "log = open(sys.argv[1], 'ab', buffering=0)\n"
    "p = subprocess.Popen(sys.argv[3:], cwd=sys.argv[2], stdin=subprocess.DEVNULL, stdout=log,\n"
    "                     stderr=subprocess.STDOUT, start_new_session=True)\n"
    "sys.stdout.write(str(p.pid)); sys.stdout.flush(); os._exit(0)\n"
)


def _spawn(argv: Sequence[str], log_file: Path, cwd: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _DETACH, str(log_file), str(cwd), *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0 or not out.stdout.strip().isdigit():
        raise StackError(f"could not launch {argv[0]}: {out.stderr.strip() or out.stdout.strip()}")
    return int(out.stdout)


def _run(
    argv: Sequence[str],
    what: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"{what} failed: {exc}") from exc
    if out.returncode != 0:
        detail = "\n".join(x for x in (out.stdout.strip(), out.stderr.strip()) if x)
        raise StackError(f"{what} failed (exit {out.returncode}): {' '.join(argv)}\n{detail[-3000:]}")
    return out


def _log_mark(path: Path, name: str) -> int:
    """Appends a start banner to a service log and returns the offset where this run's output begins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        fh.write(f"\n===== stack.py: starting {name} at {stamp} =====\n".encode())
        return fh.tell()


def _log_tail(path: Path, offset: int = 0, lines: int = 25) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset if offset <= path.stat().st_size else 0)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log output)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join("    " + line for line in tail) if tail else "    (no output in this log since the start)"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _apt_install(packages: Iterable[str]) -> None:
    pkgs = sorted(set(packages))
    if not pkgs:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"missing system packages; install them: sudo apt-get install -y {' '.join(pkgs)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log.info("apt-get install %s", " ".join(pkgs))
    _run(["apt-get", "update"], "apt-get update", env=env)
    _run(["apt-get", "install", "-y", "--no-install-recommends", *pkgs], "apt-get install", env=env)


def _ident(value: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise StackError(f"unsupported PostgreSQL {what} name {value!r} (letters, digits, underscore only)")
    return value


# ----------------------------------------------------------------------------------------------- services


class _Service:
    name = ""
    default_timeout = 60.0
    stop_timeout = 30.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data = settings.data_dir.resolve()
        self.run_dir = self.data / "run"
        self.logs_dir = self.data / "logs"
        self.log_file = self.logs_dir / f"{self.name}.log"
        self.pid_file = self.run_dir / f"{self.name}.pid"
        self._log_offset = 0

    # install
    def apt_packages(self) -> list[str]:
        return []

    def install(self) -> None:
        pass

    # lifecycle
    def endpoint(self) -> str:
        raise NotImplementedError

    def running_pid(self) -> int | None:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def launch(self, timeout: float) -> None:
        raise NotImplementedError

    def stop(self, timeout: float) -> None:
        raise NotImplementedError

    def log_hint(self) -> str:
        return str(self.log_file)

    def log_excerpt(self) -> str:
        return _log_tail(self.log_file, self._log_offset)

    def ready_hook(self) -> None:
        """Runs once the service answers (e.g. create roles); must be idempotent."""

    def poll_ready(self, started: float, timeout: float) -> bool:
        """One readiness probe: True when ready, False to retry, StackError on exit or timeout."""
        pid = self.running_pid()
        if pid is None:
            raise StackError(f"{self.name} exited during start-up; see {self.log_hint()}\n{self.log_excerpt()}")
        if self.healthy():
            self.ready_hook()
            return True
        if time.monotonic() - started > timeout:
            raise StackError(
                f"{self.name} (pid {pid}) not ready after {timeout:.0f}s at {self.endpoint()}; "
                f"see {self.log_hint()}\n{self.log_excerpt()}"
            )
        return False

    def status(self) -> ServiceStatus:
        pid = self.running_pid()
        if pid is None:
            return ServiceStatus(self.name, False, None, self.endpoint(), "not running")
        if self.healthy():
            return ServiceStatus(self.name, True, pid, self.endpoint())
        detail = f"running but not answering; see {self.log_hint()}"
        return ServiceStatus(self.name, False, pid, self.endpoint(), detail)


class _Detached(_Service):
    """A foreground server process we detach ourselves and track with a PID file."""

    cmd_marker = ""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.stdout_file = self.log_file
        self._out_offset = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def log_excerpt(self) -> str:
        text = _log_tail(self.log_file, self._log_offset)
        if self.stdout_file != self.log_file:
            text += f"\n  {self.stdout_file.name}:\n{_log_tail(self.stdout_file, self._out_offset)}"
        return text

    def prepare(self) -> None:
        pass

    def ports(self) -> list[tuple[str, int]]:
        raise NotImplementedError

    def cwd(self) -> Path:
        return self.data

    def running_pid(self) -> int | None:
        pid = _read_pid(self.pid_file)
        if pid is None or not _pid_alive(pid):
            return None
        cmd = _cmdline(pid)
        # PID reused by something else. An empty command line is not evidence of that: Redis rewrites its
        # argv in place for its process title while starting, and read at that moment it is blank (seen as
        # a "redis exited during start-up" that was not).
        if cmd and cmd.strip() and self.cmd_marker not in cmd:
            return None
        return pid

    def launch(self, timeout: float) -> None:
        self.prepare()
        for host, port in self.ports():
            if _port_open(host, port):
                raise StackError(
                    f"cannot start {self.name}: {host}:{port} is already in use by a process this stack "
                    f"did not start (no live PID in {self.pid_file}); stop it or change the port"
                )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._log_offset = _log_mark(self.log_file, self.name)
        if self.stdout_file != self.log_file:
            self._out_offset = _log_mark(self.stdout_file, self.name)
        pid = _spawn(self.command(), self.stdout_file, self.cwd())
        self.pid_file.write_text(f"{pid}\n")
        log.info("%s: launched pid %d (log %s)", self.name, pid, self.log_file)

    def stop(self, timeout: float) -> None:
        pid = self.running_pid()
        if pid is not None:
            log.info("%s: stopping pid %d", self.name, pid)
            _terminate(pid, timeout, self.name)
        self.pid_file.unlink(missing_ok=True)


class _JavaService(_Detached):
    pom = Path()
    jar_kind = ""

    @property
    def jars(self) -> Path:
        return self.data / "jars" / self.jar_kind

    def apt_packages(self) -> list[str]:
        java = _java()
        pkgs = []
        if java is None or not (Path(java).resolve().parent / "javac").exists():
            pkgs.append("default-jdk-headless")  # the Neo4j launcher is Java source: needs javac
        if shutil.which("mvn") is None:
            pkgs.append("maven")
        return pkgs

    def install(self) -> None:
        marker = self.jars / ".memstream-jars"
        want = _sha256(self.pom)
        if marker.exists() and marker.read_text().strip() == want:
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError("mvn not found; install Maven (apt-get install maven)")
        tmp = self.jars.with_name(self.jars.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("%s: resolving jars with Maven into %s", self.name, self.jars)
        _run(
            [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(self.pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}",
            ],
            f"mvn copy-dependencies for {self.name}",
        )
        if not any(tmp.glob("*.jar")):
            raise StackError(f"mvn resolved no jars for {self.name} from {self.pom}")
        (tmp / ".memstream-jars").write_text(want + "\n")
        shutil.rmtree(self.jars, ignore_errors=True)
        tmp.rename(self.jars)

    def java(self) -> str:
        java = _java()
        if java is None:
            raise StackError("java not found; install a JDK 17+ (apt-get install default-jdk-headless)")
        return java

    def classpath(self) -> str:
        if not (self.jars / ".memstream-jars").exists():
            raise StackError(f"{self.name} jars missing in {self.jars}; run: infra/local/stack.py install")
        return f"{self.jars}/*"


class Kafka(_JavaService):
    name = "kafka"
    cmd_marker = "kafka.Kafka"
    default_timeout = 90.0
    stop_timeout = 30.0
    pom = HERE / "maven" / "kafka-pom.xml"
    jar_kind = "kafka"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = _host_port(settings.kafka_bootstrap, 19092)
        self.controller_port = self.port + 1
        self.home = self.data / "kafka"
        self.config = self.home / "server.properties"
        self.log4j = self.home / "log4j2.properties"
        self.storage = self.home / "data"
        # JVM stdout/stderr (crashes, early config errors) go to kafka.out; log4j2 writes kafka.log.
        self.stdout_file = self.logs_dir / "kafka.out"

    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [(self.host, self.port), (self.host, self.controller_port)]

    def cwd(self) -> Path:
        return self.home

    def log_hint(self) -> str:
        return f"{self.log_file} (JVM output: {self.stdout_file})"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        h, p, c = self.host, self.port, self.controller_port
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{h}:{c}",
            "listeners": f"PLAINTEXT://{h}:{p},CONTROLLER://{h}:{c}",
            "advertised.listeners": f"PLAINTEXT://{h}:{p},CONTROLLER://{h}:{c}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.storage),
            "num.partitions": str(self.settings.kafka_partitions),
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
        }
        self.config.write_text(
            "# Generated by infra/local/stack.py on every start; edit the script, not this file.\n"
            + "".join(f"{k}={v}\n" for k, v in props.items())
        )
        self.log4j.write_text(_KAFKA_LOG4J.format(log_file=self.log_file, pattern_file=f"{self.log_file}.%i"))
        if not (self.storage / "meta.properties").exists():
            cp = self.classpath()
            log4j = f"-Dlog4j2.configurationFile={self.log4j}"
            tool = [self.java(), log4j, "-cp", cp, "kafka.tools.StorageTool"]
            id_file = self.home / "cluster-id"
            if not id_file.exists():
                out = _run([*tool, "random-uuid"], "kafka-storage random-uuid").stdout
                id_file.write_text(out.strip().splitlines()[-1] + "\n")
            cluster_id = id_file.read_text().strip()
            log.info("kafka: formatting KRaft storage %s (cluster id %s)", self.storage, cluster_id)
            fmt = [*tool, "format", "-t", cluster_id, "-c", str(self.config), "--standalone"]
            _run(fmt, "kafka-storage format")

    def command(self) -> list[str]:
        return [
            self.java(),
            "-Xmx512m",
            "-Xms512m",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            self.classpath(),
            "kafka.Kafka",
            str(self.config),
        ]

    def healthy(self) -> bool:
        if not _port_open(self.host, self.port):
            return False
        try:
            from confluent_kafka.admin import AdminClient
        except ImportError:
            return _kafka_api_versions(self.host, self.port)
        conf: dict[str, Any] = {
            "bootstrap.servers": self.endpoint(),
            "log_level": 0,
            "error_cb": lambda _err: None,
            "socket.timeout.ms": 3000,
        }
        admin = AdminClient(conf)
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception:
            return False
        return bool(metadata.brokers)


_KAFKA_LOG4J = """\
# Generated by infra/local/stack.py. Kafka broker logging: INFO to a rolling file, chatty loggers at WARN.
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log_file}
appender.file.filePattern = {pattern_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.config.name = org.apache.kafka.common.config
logger.config.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
"""


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def _kafka_api_versions(host: str, port: int) -> bool:
    """Stdlib fallback readiness: an ApiVersions v0 round trip (the broker is serving requests)."""
    client_id = b"memstream-stack"
    request = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv_exact(sock, 4))[0]
            correlation, error = struct.unpack(">ih", _recv_exact(sock, size)[:6])
    except (OSError, struct.error):
        return False
    return correlation == 7 and error == 0


class Neo4j(_JavaService):
    name = "neo4j"
    cmd_marker = "MemstreamNeo4j"
    default_timeout = 180.0
    stop_timeout = 30.0
    pom = HERE / "maven" / "neo4j-pom.xml"
    jar_kind = "neo4j"
    launcher = HERE / "neo4j" / "MemstreamNeo4j.java"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = _host_port(settings.neo4j_uri, 7687)
        self.home = self.data / "neo4j"
        self.ready_marker = self.home / "memstream-ready"

    def endpoint(self) -> str:
        return f"bolt://{self.host}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [(self.host, self.port)]

    def log_hint(self) -> str:
        return f"{self.log_file} (Neo4j debug log: {self.home / 'logs' / 'debug.log'})"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.ready_marker.unlink(missing_ok=True)

    def command(self) -> list[str]:
        return [
            self.java(),
            "-Xmx768m",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            # Module opens + Netty flag that Neo4j's own launcher passes (no reflective-access fallbacks).
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-cp",
            self.classpath(),
            str(self.launcher),
            str(self.home),
            str(self.port),
            self.settings.neo4j_password,
        ]

    def healthy(self) -> bool:
        # The launcher writes the marker once the password is set, so we never fail a login mid-start-up.
        if not self.ready_marker.exists() or not _port_open(self.host, self.port):
            return False
        try:
            import neo4j
        except ImportError:
            return _bolt_handshake(self.host, self.port)
        if not hasattr(neo4j, "GraphDatabase"):  # a namespace package, not the driver
            return _bolt_handshake(self.host, self.port)
        try:
            auth = (self.settings.neo4j_user, self.settings.neo4j_password)
            with neo4j.GraphDatabase.driver(self.endpoint(), auth=auth, connection_timeout=3) as driver:
                driver.verify_connectivity()
                db = self.settings.neo4j_database
                records = driver.execute_query("RETURN 1 AS ok", database_=db).records
                return bool(records) and records[0]["ok"] == 1
        except Exception:
            return False


def _bolt_handshake(host: str, port: int) -> bool:
    """Stdlib fallback readiness: the server accepts a Bolt 4.4/5.x handshake."""
    proposal = b"\x60\x60\xb0\x17" + b"\x00\x08\x08\x05" + b"\x00\x00\x04\x04" + b"\x00" * 8
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(proposal)
            return _recv_exact(sock, 4) != b"\x00" * 4
    except OSError:
        return False


class Redis(_Detached):
    name = "redis"
    cmd_marker = "redis-server"
    default_timeout = 20.0
    stop_timeout = 15.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = _host_port(settings.redis_url, 6379)
        self.home = self.data / "redis"
        self.config = self.home / "redis.conf"

    def endpoint(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [(self.host, self.port)]

    def apt_packages(self) -> list[str]:
        return [] if self._binary() else ["redis-server"]

    @staticmethod
    def _binary() -> str | None:
        return shutil.which("redis-server") or next(
            (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
        )

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        home = str(self.home).replace("\\", "\\\\").replace('"', '\\"')
        self.config.write_text(
            "# Generated by infra/local/stack.py on every start.\n"
            f"bind {self.host}\nport {self.port}\nprotected-mode yes\n"
            'daemonize no\nsupervised no\nloglevel notice\nlogfile ""\n'
            f'dir "{home}"\n'
            # The Redis projection keeps its checkpoint and generations here: they must survive a restart.
            'save ""\nappendonly yes\nappendfsync everysec\ndatabases 16\n'
        )

    def command(self) -> list[str]:
        binary = self._binary()
        if binary is None:
            raise StackError("redis-server not found; run: python infra/local/stack.py install redis")
        return [binary, str(self.config)]

    def healthy(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return _recv_exact(sock, 5) == b"+PONG"
        except OSError:
            return False


class Postgres(_Service):
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
        _run(
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
        pid = _read_pid(self.pgdata / "postmaster.pid")
        return pid if pid is not None and _pid_alive(pid) else None

    def healthy(self) -> bool:
        out = subprocess.run(
            [self.bin("pg_isready"), "-q", "-h", self.host, "-p", str(self.port), "-t", "2"], check=False
        )
        return out.returncode == 0

    def _psql(self, user: str, db: str, sql: str) -> str:
        env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
        if user == self.user and self.password:
            env["PGPASSWORD"] = self.password
        out = _run(
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
        if _port_open(self.host, self.port):
            raise StackError(
                f"cannot start postgres: {self.host}:{self.port} is already in use by a server "
                f"this stack did not start (no live postmaster for {self.pgdata})"
            )
        self._write_conf()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._log_offset = _log_mark(self.log_file, self.name)
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
                f"{_log_tail(self.log_file, self._log_offset)}"
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
                _terminate(pid, 10, self.name)
        self.pid_file.unlink(missing_ok=True)


class MilvusLite(_Detached):
    """Milvus Lite's own server binary (shipped in the milvus-lite wheel) serving gRPC on loopback.

    Embedded Milvus Lite holds an exclusive lock on its file, so the projectors, the API and the tests could
    not share one store; served over gRPC they all talk to one instance, exactly as to a Milvus server.
    """

    name = "milvus"
    cmd_marker = "milvus"
    default_timeout = 60.0
    stop_timeout = 15.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = _host_port(settings.milvus_uri, 19530)
        self.home = self.data / "milvus"
        self.db_file = self.home / "memstream.db"

    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [(self.host, self.port)]

    @staticmethod
    def _lib_dir() -> Path:
        spec = importlib.util.find_spec("milvus_lite")
        if spec is None or spec.origin is None:
            raise StackError("milvus-lite is not installed in this Python; run: make setup")
        return Path(spec.origin).parent / "lib"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        lib = self._lib_dir()
        # The binary finds its shared libraries beside it only through LD_LIBRARY_PATH.
        return [
            "/usr/bin/env",
            f"LD_LIBRARY_PATH={lib}",
            str(lib / "milvus"),
            str(self.db_file),
            f"{self.host}:{self.port}",
            "ERROR",
        ]

    def healthy(self) -> bool:
        if not _port_open(self.host, self.port):
            return False
        try:
            from pymilvus import MilvusClient

            MilvusClient(uri=self.endpoint(), timeout=3).list_collections()
            return True
        except ImportError:
            return True  # the port answers; nothing better to ask without the client
        except Exception:
            return False


_CLASSES: dict[str, Callable[[Settings], _Service]] = {
    "kafka": Kafka,
    "neo4j": Neo4j,
    "postgres": Postgres,
    "redis": Redis,
    "milvus": MilvusLite,
}


def _services(settings: Settings | None, services: Iterable[str] | None) -> list[_Service]:
    settings = settings or Settings.from_env()
    wanted = list(services) if services else list(SERVICES)
    unknown = [s for s in wanted if s not in _CLASSES]
    if unknown:
        raise StackError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(CLI_ORDER)}")
    return [_CLASSES[name](settings) for name in SERVICES if name in wanted]


# ----------------------------------------------------------------------------------------------- public API


@contextlib.contextmanager
def _locked(settings: Settings | None) -> Iterator[Settings]:
    """Serialises install/start/stop across processes (e.g. parallel test workers) per data dir."""
    settings = settings or Settings.from_env()
    run_dir = settings.data_dir.resolve() / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "stack.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield settings
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _install(settings: Settings, services: Iterable[str] | None) -> None:
    svcs = _services(settings, services)
    _apt_install(pkg for svc in svcs for pkg in svc.apt_packages())
    for svc in svcs:
        svc.install()


def _start(settings: Settings, services: Iterable[str] | None, timeout: float | None) -> dict[str, float]:
    svcs = _services(settings, services)
    _install(settings, [s.name for s in svcs])
    pending: list[tuple[_Service, float]] = []
    took: dict[str, float] = {}
    for svc in svcs:
        limit = timeout or svc.default_timeout
        pid = svc.running_pid()
        if pid is not None and svc.healthy():
            svc.ready_hook()
            log.info("%s: already running (pid %d) at %s", svc.name, pid, svc.endpoint())
            took[svc.name] = 0.0
            continue
        t0 = time.monotonic()
        if pid is None:
            svc.launch(limit)
        else:
            log.info("%s: pid %d is running but not ready yet; waiting", svc.name, pid)
        pending.append((svc, t0))
    while pending:  # probe round-robin so each service's time-to-ready is its own
        for svc, t0 in list(pending):
            if svc.poll_ready(t0, timeout or svc.default_timeout):
                took[svc.name] = time.monotonic() - t0
                log.info("%s: ready at %s in %.1fs", svc.name, svc.endpoint(), took[svc.name])
                pending.remove((svc, t0))
        if pending:
            time.sleep(0.2)
    return took


def _stop(settings: Settings, services: Iterable[str] | None, timeout: float | None) -> None:
    for svc in reversed(_services(settings, services)):
        svc.stop(timeout or svc.stop_timeout)


def install(settings: Settings | None = None, services: Iterable[str] | None = None) -> None:
    """Idempotent: apt packages only for missing binaries, jars only when missing or the pom changed."""
    with _locked(settings) as s:
        _install(s, services)


def start(
    settings: Settings | None = None, services: Iterable[str] | None = None, timeout: float | None = None
) -> dict[str, float]:
    """Starts what is not already running and healthy; returns seconds-to-ready per service (0.0 = was up).

    Installs first when needed. ``timeout`` (seconds, per service) overrides the defaults (Neo4j 180,
    Kafka 90, PostgreSQL 60, Redis 20). Raises StackError with the log path and tail on failure.
    """
    with _locked(settings) as s:
        return _start(s, services, timeout)


def stop(settings: Settings | None = None, services: Iterable[str] | None = None, timeout: float | None = None) -> None:
    """Stops only processes recorded in our PID files (PostgreSQL via pg_ctl): SIGTERM, then SIGKILL."""
    with _locked(settings) as s:
        _stop(s, services, timeout)


def restart(
    settings: Settings | None = None, services: Iterable[str] | None = None, timeout: float | None = None
) -> dict[str, float]:
    with _locked(settings) as s:
        _stop(s, services, None)
        return _start(s, services, timeout)


def status(settings: Settings | None = None, services: Iterable[str] | None = None) -> dict[str, ServiceStatus]:
    return {svc.name: svc.status() for svc in _services(settings, services)}


# ----------------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="memstream local service stack (no Docker)")
    parser.add_argument("command", choices=["install", "start", "stop", "restart", "status"])
    parser.add_argument("services", nargs="*", metavar="service", help=f"any of {', '.join(CLI_ORDER)}")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per service (start/stop)")
    parser.add_argument("--json", action="store_true", help="status: print {service: up} as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    settings = Settings.from_env()
    try:
        if args.command == "install":
            install(settings, args.services)
        elif args.command in ("start", "restart"):
            action = start if args.command == "start" else restart
            took = action(settings, args.services, args.timeout)
            for name, secs in took.items():
                print(f"{name:9} {'already running' if secs == 0.0 else f'ready in {secs:.1f}s'}")
        elif args.command == "stop":
            stop(settings, args.services, args.timeout)
        else:
            states = status(settings, args.services)
            if args.json:
                print(json.dumps({name: st.up for name, st in states.items()}))
                return 0
            for name in CLI_ORDER:
                if name in states:
                    st = states[name]
                    pid = f"pid {st.pid}" if st.pid else "-"
                    state = "up" if st.up else "down"
                    print(f"{name:9} {state:5} {pid:11} {st.endpoint}  {st.detail}".rstrip())
            return 0 if all(st.up for st in states.values()) else 1
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
