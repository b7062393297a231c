"""Data dirs from before the stores had generated passwords migrate on the next ``stack.py start``.

Each test builds, in a data dir of its own (under the stack's data dir, with free ports), the state the stack of
before left: a PostgreSQL cluster initialised with ``trust`` and roles without passwords, a Redis without
``requirepass``, a Neo4j whose user has the fixed password ``memstream-local``; stopped, or still running. Then
the stack of now starts it, and the store must refuse a client without the generated password, accept one with
it, still hold what was written before, and not have been restarted when it was running.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import neo4j
import psycopg
import pytest
import redis
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.store_credentials import NEO4J_PASSWORD_FILE, REDIS_PASSWORD_FILE, with_generated_store_passwords
from infra.local import stack
from infra.local.services.common import read_pid, spawn, write_private
from infra.local.services.neo4j import AUTH_MARKER, LEGACY_PASSWORD, Neo4j
from infra.local.services.postgres import SUPERUSER, SUPERUSER_PASSWORD_FILE, Postgres
from infra.local.services.redis import Redis
from memory.settings import Settings
from tests.support import wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def data_dir(stack_settings: Settings) -> Iterator[Path]:
    """A data dir beside the real one (the postgres OS user can reach it), sharing its jars (no Maven run)."""
    parent = stack_settings.data_dir.resolve() / "tmp"
    parent.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="migration-", dir=parent))
    (folder / "jars").symlink_to(stack_settings.data_dir.resolve() / "jars")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def settings(data_dir: Path) -> Iterator[Settings]:
    """The stack's settings for that data dir, as ``stack.py start`` computes them: passwords generated."""
    base = Settings(
        data_dir=data_dir,
        postgres_dsn=f"postgresql://memstream@127.0.0.1:{_free_port()}/memstream",
        redis_url=f"redis://127.0.0.1:{_free_port()}/0",
        neo4j_uri=f"bolt://127.0.0.1:{_free_port()}",
    )
    yield with_generated_store_passwords(base)
    stack.stop(base, ["neo4j", "postgres", "redis"])


@pytest.fixture(autouse=True)
def _no_ambient_postgres_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


@pytest.fixture
def stack_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="memstream.stack")
    return caplog


def _assert_never_shown(settings: Settings, log: pytest.LogCaptureFixture) -> None:
    superuser = settings.data_dir / SUPERUSER_PASSWORD_FILE
    passwords = [settings.postgres_password, settings.redis_password, settings.neo4j_password]
    passwords += [superuser.read_text().strip()] if superuser.exists() else []
    logs = "".join(p.read_text(errors="replace") for p in (settings.data_dir / "logs").glob("*") if p.is_file())
    for password in passwords:
        assert password not in log.text and password not in logs


# ------------------------------------------------------------------------------------------ PostgreSQL


def _legacy_postgres(settings: Settings) -> Postgres:
    """A cluster as the stack of before made it: initdb with trust, a role without a password, some data.
    Left running."""
    pg = Postgres(settings)
    pg.root.mkdir(parents=True)
    pg.socket_dir.mkdir(parents=True, exist_ok=True)
    pg._own(pg.root, pg.socket_dir)
    pg._ensure_traversable()  # mkdtemp made the data dir 0700
    initdb = [pg.bin("initdb"), "-D", str(pg.pgdata), "-U", "postgres", "-E", "UTF8", "--locale=C"]
    subprocess.run(pg._as_pg([*initdb, "--auth-local=trust", "--auth-host=trust"]), check=True, cwd=pg.root)
    with (pg.pgdata / "postgresql.conf").open("a") as conf:
        conf.write("include_if_exists = 'memstream.conf'\n")
    pg._write_conf()
    pg_ctl = [pg.bin("pg_ctl"), "-D", str(pg.pgdata), "-l", str(pg.root / "legacy.log"), "-w", "start"]
    subprocess.run(pg._as_pg(pg_ctl), check=True, cwd=pg.root, capture_output=True)
    trusted = f"host={pg.host} port={pg.port} user=postgres dbname=postgres"  # no password: trust
    with psycopg.connect(trusted, autocommit=True) as conn:
        conn.execute('CREATE ROLE "memstream" LOGIN CREATEDB')
        conn.execute('CREATE DATABASE "memstream" OWNER "memstream"')
    with psycopg.connect(f"host={pg.host} port={pg.port} user=memstream dbname=memstream") as conn:
        conn.execute("CREATE TABLE written_before (what text)")
        conn.execute("INSERT INTO written_before VALUES ('kept')")
    assert "trust" in (pg.pgdata / "pg_hba.conf").read_text()
    return pg


def _assert_postgres_closed(settings: Settings, pg: Postgres) -> None:
    without = make_conninfo("", **{k: v for k, v in conninfo_to_dict(settings.postgres_dsn).items() if k != "password"})
    for user in ("memstream", SUPERUSER):
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(make_conninfo(without, user=user), connect_timeout=5)
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(make_conninfo(without, user=user, host=str(pg.socket_dir)), connect_timeout=5)
    with psycopg.connect(settings.postgres_dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT what FROM written_before").fetchall() == [("kept",)]
    superuser = (settings.data_dir / SUPERUSER_PASSWORD_FILE).read_text().strip()
    with psycopg.connect(make_conninfo(without, user=SUPERUSER, password=superuser), connect_timeout=5) as conn:
        methods = {m for (m,) in conn.execute("SELECT auth_method FROM pg_hba_file_rules").fetchall()}
    assert methods == {"scram-sha-256"}
    assert "trust" not in (pg.pgdata / "pg_hba.conf").read_text()


def test_a_stopped_postgres_from_before_gets_passwords_at_its_next_start(
    settings: Settings, stack_log: pytest.LogCaptureFixture
) -> None:
    pg = _legacy_postgres(settings)
    subprocess.run(pg._as_pg([pg.bin("pg_ctl"), "-D", str(pg.pgdata), "-w", "stop"]), check=True, capture_output=True)

    stack.start(settings, ["postgres"])
    _assert_postgres_closed(settings, pg)
    assert "postgres: set the password of role memstream (it had none)" in stack_log.text

    stack_log.clear()  # idempotent: a second start, and a restart, change nothing
    stack.start(settings, ["postgres"])
    stack.restart(settings, ["postgres"])
    assert "set the password" not in stack_log.text and "rewritten" not in stack_log.text
    _assert_postgres_closed(settings, pg)
    _assert_never_shown(settings, stack_log)


def test_a_running_postgres_from_before_is_closed_without_a_restart(
    settings: Settings, stack_log: pytest.LogCaptureFixture
) -> None:
    pg = _legacy_postgres(settings)
    pid = pg.running_pid()

    stack.start(settings, ["postgres"])
    assert pg.running_pid() == pid
    _assert_postgres_closed(settings, pg)
    for expected in ("role postgres (it had none)", "role memstream (it had none)", "rewritten (password"):
        assert expected in stack_log.text
    _assert_never_shown(settings, stack_log)


def test_a_lost_superuser_password_file_is_recovered_by_a_restart(settings: Settings) -> None:
    stack.start(settings, ["postgres"])
    superuser_file = settings.data_dir / SUPERUSER_PASSWORD_FILE
    superuser_file.unlink()  # a new one is generated: the running server does not know it
    with pytest.raises(stack.StackError, match="restart postgres"):
        stack.start(settings, ["postgres"])
    stack.restart(settings, ["postgres"])  # single-user mode gives the superuser the file's password again
    login = make_conninfo(settings.postgres_dsn, user=SUPERUSER, password=superuser_file.read_text().strip())
    with psycopg.connect(login, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (SUPERUSER,)


# ------------------------------------------------------------------------------------------ Redis


def test_a_running_redis_from_before_gets_its_password_and_keeps_it_after_a_restart(
    settings: Settings, stack_log: pytest.LogCaptureFixture
) -> None:
    service = Redis(settings)
    service.home.mkdir(parents=True)
    write_private(  # the configuration of before: no requirepass
        service.config,
        f"bind {service.host}\nport {service.port}\ndir \"{service.home}\"\nappendonly yes\nsave \"\"\n",
    )
    service.run_dir.mkdir(parents=True, exist_ok=True)
    service.logs_dir.mkdir(parents=True, exist_ok=True)
    pid = spawn(service.command(), service.log_file, service.home)
    service.pid_file.write_text(f"{pid}\n")
    before = redis.Redis(host=service.host, port=service.port)
    wait_until(lambda: _answers(before), timeout=30, what="the Redis of before answering")
    before.set("written-before", "kept")

    stack.start(settings, ["redis"])
    assert read_pid(service.pid_file) == pid  # closed while running
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=service.host, port=service.port).get("written-before")
    assert redis.Redis.from_url(settings.redis_url).get("written-before") == b"kept"
    assert "requirepass set" in stack_log.text

    stack.restart(settings, ["redis"])  # from now on the password comes from redis.conf
    assert read_pid(service.pid_file) != pid
    assert "requirepass" in service.config.read_text() and service.config.stat().st_mode & 0o777 == 0o600
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=service.host, port=service.port).get("written-before")
    assert redis.Redis.from_url(settings.redis_url).get("written-before") == b"kept"
    _assert_never_shown(settings, stack_log)

    # The password file replaced while Redis runs: a start says so, a restart gives Redis the new password.
    (settings.data_dir / REDIS_PASSWORD_FILE).unlink()
    unset = replace(settings, redis_url=f"redis://{service.host}:{service.port}/0", redis_password="")
    renewed = with_generated_store_passwords(unset)
    assert renewed.redis_password != settings.redis_password
    with pytest.raises(stack.StackError, match="restart redis"):
        stack.start(renewed, ["redis"])
    stack.restart(renewed, ["redis"])
    assert redis.Redis.from_url(renewed.redis_url).get("written-before") == b"kept"


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


# ------------------------------------------------------------------------------------------ Neo4j


def _neo4j_accepts(settings: Settings, password: str) -> bool:
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, password)) as driver:
        try:
            driver.verify_connectivity()
        except neo4j.exceptions.AuthError:
            return False
    return True


def _written_before(settings: Settings) -> list[str]:
    auth = (settings.neo4j_user, settings.neo4j_password)
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=auth) as driver:
        return [r["what"] for r in driver.execute_query("MATCH (n:WrittenBefore) RETURN n.what AS what").records]


def test_neo4j_from_before_gets_the_generated_password_stopped_or_running(
    settings: Settings, stack_log: pytest.LogCaptureFixture
) -> None:
    # The stack of before: the launcher given the fixed password (what it set on every data dir).
    legacy = replace(settings, neo4j_password=LEGACY_PASSWORD)
    stack.start(legacy, ["neo4j"])
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, LEGACY_PASSWORD)) as driver:
        driver.execute_query("CREATE (:WrittenBefore {what: 'kept'})")
    stack.stop(legacy, ["neo4j"])

    # Stopped: the launcher sets the generated password at the next start.
    stack.start(settings, ["neo4j"])
    assert not _neo4j_accepts(settings, LEGACY_PASSWORD)
    assert _written_before(settings) == ["kept"]

    # Running: put that server back in the state of before (the fixed password, and the launcher's record of
    # it), as an earlier stack that is still running would have it; a start changes it over Bolt.
    service = Neo4j(settings)
    auth = (settings.neo4j_user, settings.neo4j_password)
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=auth) as driver:
        driver.execute_query(
            "ALTER CURRENT USER SET PASSWORD FROM $old TO $new",
            old=settings.neo4j_password,
            new=LEGACY_PASSWORD,
            database_="system",
        )
    (service.home / AUTH_MARKER).write_text(hashlib.sha256(LEGACY_PASSWORD.encode()).hexdigest() + "\n")
    pid = service.running_pid()
    assert _neo4j_accepts(settings, LEGACY_PASSWORD)

    stack.start(settings, ["neo4j"])
    assert service.running_pid() == pid
    assert "changed the fixed password" in stack_log.text
    assert not _neo4j_accepts(settings, LEGACY_PASSWORD)
    assert _written_before(settings) == ["kept"]
    recorded = (service.home / AUTH_MARKER).read_text().strip()  # the next launch has nothing to change
    assert recorded == hashlib.sha256(settings.neo4j_password.encode()).hexdigest()
    _assert_never_shown(settings, stack_log)

    # The password file replaced while Neo4j runs: a start says so, a restart sets the new password.
    (settings.data_dir / NEO4J_PASSWORD_FILE).unlink()
    renewed = with_generated_store_passwords(replace(settings, neo4j_password=""))
    with pytest.raises(stack.StackError, match="restart neo4j"):
        stack.start(renewed, ["neo4j"])
    stack.restart(renewed, ["neo4j"])
    assert _neo4j_accepts(renewed, renewed.neo4j_password)
    assert _written_before(renewed) == ["kept"]
