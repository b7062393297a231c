"""The stores of the local stack are closed: each refuses a client without its password (or with a wrong one)
and accepts the one the settings carry; the passwords stay out of the stack's output, logs and command lines.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import neo4j
import psycopg
import pytest
import redis
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.local.services import scram
from infra.local.services.neo4j import LEGACY_PASSWORD
from infra.local.services.postgres import SUPERUSER, SUPERUSER_PASSWORD_FILE, Postgres
from memory.settings import PROJECT_ROOT, Settings
from tests.support import unique


@pytest.fixture(autouse=True)
def _no_ambient_postgres_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """libpq also finds passwords in PGPASSWORD and ~/.pgpass: a refusal must not depend on their absence."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


def _without_password(dsn: str, **overrides: str) -> str:
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if k != "password"}
    return make_conninfo("", **{**params, **overrides})


def _superuser_password(settings: Settings) -> str:
    return (settings.data_dir / SUPERUSER_PASSWORD_FILE).read_text().strip()


# ------------------------------------------------------------------------------------------ PostgreSQL


def test_postgres_over_tcp_refuses_no_password_and_a_wrong_one(stack_settings: Settings) -> None:
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(_without_password(stack_settings.postgres_dsn), connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_without_password(stack_settings.postgres_dsn, password="not-the-password"), connect_timeout=5)
    with psycopg.connect(stack_settings.postgres_dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("memstream",)


def test_postgres_over_the_unix_socket_asks_for_the_password_too(stack_settings: Settings) -> None:
    socket_dir = str(Postgres(stack_settings).socket_dir)
    as_superuser = _without_password(stack_settings.postgres_dsn, host=socket_dir, user=SUPERUSER, dbname="postgres")
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(as_superuser, connect_timeout=5)
    with psycopg.connect(as_superuser, password=_superuser_password(stack_settings), connect_timeout=5) as conn:
        # The server's own reading of pg_hba.conf: every rule asks for a SCRAM password, none trusts.
        rules = conn.execute("SELECT type, auth_method FROM pg_hba_file_rules ORDER BY line_number").fetchall()
    assert {kind for kind, _ in rules} == {"local", "host"}
    assert {method for _, method in rules} == {"scram-sha-256"}


def test_the_stack_s_verifiers_and_the_server_s_agree(stack_settings: Settings) -> None:
    """The stack sets passwords as SCRAM verifiers it computes, and recognises the ones it finds: both must match
    what PostgreSQL computes and checks."""
    role, password = unique("verifier_"), "a-password-for-this-test"
    admin = _without_password(stack_settings.postgres_dsn, host="127.0.0.1", user=SUPERUSER, dbname="postgres")
    with psycopg.connect(admin, password=_superuser_password(stack_settings), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")  # hashed by the server
        try:
            row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()
            stored = row[0] if row else None
            assert scram.verifies(stored, password) and not scram.verifies(stored, password + "!")
            conn.execute(f"ALTER ROLE {role} PASSWORD '{scram.verifier(password)}'")  # ours, checked by the server
            login = _without_password(stack_settings.postgres_dsn, user=role, dbname="postgres")
            with psycopg.connect(login, password=password, connect_timeout=5) as mine:
                assert mine.execute("SELECT current_user").fetchone() == (role,)
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(login, password=password + "!", connect_timeout=5)
        finally:
            conn.execute(f"DROP ROLE {role}")


# ------------------------------------------------------------------------------------------ Redis


def test_redis_refuses_a_client_without_auth_and_a_wrong_password(stack_settings: Settings) -> None:
    url = redis.connection.parse_url(stack_settings.redis_url)
    host, port = url["host"], url["port"]
    with socket.create_connection((host, port), timeout=5) as raw:  # what any client gets, word for word
        raw.sendall(b"PING\r\n")
        assert raw.recv(100).startswith(b"-NOAUTH Authentication required")
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=host, port=port).ping()
    with pytest.raises(redis.exceptions.AuthenticationError, match="invalid username-password"):  # WRONGPASS
        redis.Redis(host=host, port=port, password="not-the-password").ping()
    client = redis.Redis.from_url(stack_settings.redis_url)
    assert client.ping() is True
    client.close()


# ------------------------------------------------------------------------------------------ Neo4j


def test_neo4j_refuses_a_wrong_password_and_the_fixed_one_of_before(stack_settings: Settings) -> None:
    for wrong in ("not-the-password", LEGACY_PASSWORD):  # two failures: below Neo4j's lock-out after three
        with (
            neo4j.GraphDatabase.driver(stack_settings.neo4j_uri, auth=(stack_settings.neo4j_user, wrong)) as driver,
            pytest.raises(neo4j.exceptions.AuthError),
        ):
            driver.verify_connectivity()
    auth = (stack_settings.neo4j_user, stack_settings.neo4j_password)
    with neo4j.GraphDatabase.driver(stack_settings.neo4j_uri, auth=auth) as driver:
        assert driver.execute_query("RETURN 1 AS ok").records[0]["ok"] == 1


# ------------------------------------------------------------------------------------------ never shown


def _passwords(settings: Settings) -> list[str]:
    superuser = _superuser_password(settings)
    found = [settings.postgres_password, settings.redis_password, settings.neo4j_password, superuser]
    assert all(len(p) >= 16 for p in found)
    return found


def test_the_password_files_are_private(stack_settings: Settings) -> None:
    secrets_dir = stack_settings.data_dir / "secrets"
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    for name in ("postgres.password", "postgres-superuser.password", "redis.password", "neo4j.password"):
        assert (secrets_dir / name).stat().st_mode & 0o777 == 0o600, name
    assert (stack_settings.data_dir / "redis" / "redis.conf").stat().st_mode & 0o777 == 0o600  # holds requirepass


def test_no_password_shows_in_the_stack_s_output_logs_or_command_lines(stack_settings: Settings) -> None:
    passwords = _passwords(stack_settings)
    stack = [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py")]
    shown = ""
    for command in ("start", "status"):
        out = subprocess.run([*stack, command], capture_output=True, text=True, check=False, timeout=300)
        assert out.returncode == 0, out.stderr
        shown += out.stdout + out.stderr
    logs = [stack_settings.data_dir / "logs", stack_settings.data_dir / "neo4j" / "logs"]
    shown += "".join(p.read_text(errors="replace") for folder in logs for p in folder.rglob("*") if p.is_file())
    pids = [p.read_text().split()[0] for p in (stack_settings.data_dir / "run").glob("*.pid")]
    assert len(pids) >= 5
    for pid in pids:  # what every user of the machine can read in ps
        shown += Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    for password in passwords:
        assert password not in shown
