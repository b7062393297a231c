"""Store passwords in the settings (adapters.store_credentials, memory.credentials): where each comes from, which
one wins, how it reaches the addresses every component connects with, and that it is never shown."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg.conninfo
import pytest
from redis.connection import parse_url

from adapters.secret_files import SecretFileError
from adapters.settings_loader import load_settings
from adapters.store_credentials import (
    NEO4J_PASSWORD_FILE,
    POSTGRES_PASSWORD_FILE,
    REDIS_PASSWORD_FILE,
    fill_store_credentials,
    with_generated_store_passwords,
)
from infra.local.services import scram
from memory.credentials import password_in, redacted, with_password
from memory.settings import Settings
from projections.targets import settings_for_target, with_search_path

ODD = "p@ss:w/rd?#&='\\ x%"  # every character that means something in a URL or a libpq keyword value


def _generated(data_dir: Path) -> dict[str, str]:
    """Writes the three files the local stack would generate; returns their passwords."""
    written = {}
    for store, relative in (
        ("postgres", POSTGRES_PASSWORD_FILE),
        ("redis", REDIS_PASSWORD_FILE),
        ("neo4j", NEO4J_PASSWORD_FILE),
    ):
        path = data_dir / relative
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        written[store] = f"{store}-generated-{'x' * 16}"
        path.write_text(written[store] + "\n")
        path.chmod(0o600)
    return written


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"MEMSTREAM_DATA_DIR": str(data_dir), **{f"MEMSTREAM_{k.upper()}": v for k, v in extra.items()}}


# ------------------------------------------------------------------------------------------ which one wins


def test_the_generated_files_fill_what_the_environment_leaves_empty(tmp_path: Path) -> None:
    files = _generated(tmp_path)
    settings = load_settings(_env(tmp_path))
    assert settings.postgres_password == files["postgres"]
    assert password_in(settings.postgres_dsn) == files["postgres"]
    assert urlsplit(settings.postgres_dsn).hostname == "127.0.0.1"
    assert settings.redis_password == files["redis"] == parse_url(settings.redis_url)["password"]
    assert settings.neo4j_password == files["neo4j"]


def test_the_environment_wins_over_the_files(tmp_path: Path) -> None:
    _generated(tmp_path)
    settings = load_settings(
        _env(
            tmp_path, postgres_password="pg-from-env-1234", redis_password="redis-from-env-12", neo4j_password="n" * 20
        )
    )
    assert settings.postgres_password == password_in(settings.postgres_dsn) == "pg-from-env-1234"
    assert settings.redis_password == parse_url(settings.redis_url)["password"] == "redis-from-env-12"
    assert settings.neo4j_password == "n" * 20


def test_a_password_written_in_the_address_wins_over_everything(tmp_path: Path) -> None:
    _generated(tmp_path)
    settings = load_settings(
        _env(
            tmp_path,
            postgres_dsn="postgresql://memstream:in-the-dsn@db:5432/memstream",
            postgres_password="pg-from-env-1234",
            redis_url="redis://:in-the-url@cache:6379/0",
        )
    )
    assert (settings.postgres_password, settings.postgres_dsn) == (
        "in-the-dsn",
        "postgresql://memstream:in-the-dsn@db:5432/memstream",
    )
    assert (settings.redis_password, settings.redis_url) == ("in-the-url", "redis://:in-the-url@cache:6379/0")


def test_a_named_password_file_wins_over_the_generated_one_and_may_be_a_docker_secret(tmp_path: Path) -> None:
    _generated(tmp_path)
    secret = tmp_path / "run-secrets" / "postgres_password"
    secret.parent.mkdir()
    secret.write_text("from-a-docker-secret\n")
    secret.chmod(0o644)  # how Compose mounts it: readable by the containers' own users
    settings = load_settings(_env(tmp_path, postgres_password_file=str(secret)))
    assert settings.postgres_password == password_in(settings.postgres_dsn) == "from-a-docker-secret"
    with pytest.raises(FileNotFoundError):  # a file the deployment names must exist: no silent fallback
        load_settings(_env(tmp_path, redis_password_file=str(tmp_path / "missing")))


def test_without_files_or_settings_nothing_is_invented(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path))
    defaults = Settings()
    assert (settings.postgres_dsn, settings.redis_url) == (defaults.postgres_dsn, defaults.redis_url)
    assert settings.postgres_password == settings.redis_password == settings.neo4j_password == ""
    # Loading only reads the stores' passwords; the stack generates them. (The Kafka pipeline principal's
    # password is another matter: adapters.kafka_auth generates it on first use, for the broker and clients alike.)
    assert not any(
        (tmp_path / name).exists() for name in (REDIS_PASSWORD_FILE, POSTGRES_PASSWORD_FILE, NEO4J_PASSWORD_FILE)
    )


def test_a_generated_file_others_can_read_is_refused(tmp_path: Path) -> None:
    _generated(tmp_path)
    (tmp_path / REDIS_PASSWORD_FILE).chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        load_settings(_env(tmp_path))


def test_filling_is_idempotent_and_survives_the_trip_to_a_child_process(tmp_path: Path) -> None:
    _generated(tmp_path)
    settings = load_settings(_env(tmp_path, postgres_password=ODD))
    assert fill_store_credentials(settings) == settings
    # memstream_cli.processes hands its settings to the worker, projectors and API through to_env.
    assert load_settings(settings.to_env()) == settings
    assert password_in(settings.postgres_dsn) == ODD


# ------------------------------------------------------------------------------ what the stack generates


def test_the_stack_generates_only_the_passwords_nobody_gave(tmp_path: Path) -> None:
    settings = with_generated_store_passwords(Settings.from_env(_env(tmp_path, neo4j_password="n" * 20)))
    assert settings.neo4j_password == "n" * 20
    assert not (tmp_path / NEO4J_PASSWORD_FILE).exists()
    for relative, password in (
        (POSTGRES_PASSWORD_FILE, settings.postgres_password),
        (REDIS_PASSWORD_FILE, settings.redis_password),
    ):
        path = tmp_path / relative
        assert path.read_text().strip() == password and len(password) == 64
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert (
        with_generated_store_passwords(Settings.from_env(_env(tmp_path))).postgres_password
        == settings.postgres_password
    )


# ------------------------------------------------------------------------------------- never shown


def test_no_password_appears_in_the_settings_repr(tmp_path: Path) -> None:
    files = _generated(tmp_path)
    settings = replace(
        load_settings(_env(tmp_path, postgres_password=ODD)),
        token_secret="token-secret-value-1",
        llm_api_key="llm-api-key-value",
        jwt_hs256_secret="jwt-secret-value-12",
    )
    shown = repr(settings)
    for secret in (
        ODD,
        quote(ODD, safe=""),  # as the DSN carries it
        files["redis"],
        files["neo4j"],
        "token-secret-value-1",
        "llm-api-key-value",
        "jwt-secret-value-12",
    ):
        assert secret not in shown
    assert "postgres_dsn='postgresql://memstream:***@127.0.0.1:15432/memstream'" in shown  # the address, still useful
    assert "redis_url='redis://:***@127.0.0.1:16379/0'" in shown


@pytest.mark.parametrize(
    "address",
    [
        "postgresql://memstream@127.0.0.1:15432/memstream",
        "postgresql://memstream@127.0.0.1:15432/memstream?options=-csearch_path%3Dblue",
        "postgresql:///memstream?host=/var/run/postgresql",
        "host=127.0.0.1 port=15432 user=memstream dbname=memstream",
        "redis://127.0.0.1:16379/0",
        "redis://user@127.0.0.1:16379/0",
        "unix:///tmp/redis.sock?db=0",
    ],
)
def test_a_password_goes_into_an_address_and_out_again_whatever_it_holds(address: str) -> None:
    carried = with_password(address, ODD)
    assert password_in(carried) == ODD
    assert ODD not in redacted(carried) and "***" in redacted(carried)
    assert with_password(carried, "another-password") == carried  # the address's own password stays
    if address.startswith("postgresql") or "=" in address.split("?")[0]:
        assert psycopg.conninfo.conninfo_to_dict(carried)["password"] == ODD  # as libpq reads it
    else:
        assert parse_url(carried)["password"] == ODD  # as redis-py reads it


def test_a_target_s_dsn_keeps_the_password(tmp_path: Path) -> None:
    """Rebuild targets derive their DSN from the live one (projections.targets)."""
    _generated(tmp_path)
    live = load_settings(_env(tmp_path))
    blue = settings_for_target(live, "blue")
    assert password_in(blue.postgres_dsn) == live.postgres_password
    assert psycopg.conninfo.conninfo_to_dict(blue.postgres_dsn)["options"] == "-csearch_path=blue"
    assert password_in(with_search_path(blue.postgres_dsn, "green")) == live.postgres_password


# ------------------------------------------------------------------------------- the stack's verifiers


def test_a_scram_verifier_accepts_its_password_only() -> None:
    made = scram.verifier("correct-horse-battery")
    assert made.startswith("SCRAM-SHA-256$4096:")
    assert scram.verifies(made, "correct-horse-battery")
    assert not scram.verifies(made, "correct-horse-battery!")
    assert made != scram.verifier("correct-horse-battery")  # salted
    for stored in (None, "", "md5" + "0" * 32, "SCRAM-SHA-256$garbage"):
        assert not scram.verifies(stored, "correct-horse-battery")
    with pytest.raises(ValueError, match="ASCII"):
        scram.verifier("pässword")
