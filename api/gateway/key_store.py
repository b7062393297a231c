"""API keys in PostgreSQL: the ``api_keys`` table, shared by the API (verify, admin routes) and ``memstream keys``.

The table lives in the live schema (the one ``settings.postgres_dsn`` names, ``public`` by default) beside
``memstream_targets``: it is not a projection, so no rebuild, switch or drop ever touches it. It holds each
key's public prefix and the HMAC of the whole key (api.gateway.key_format), never the key itself.

Imports no web framework: the CLI uses it without loading the API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.gateway.key_format import digest, new_key
from api.gateway.principal import Principal, Scope, implied
from memory.contract.validation import InvalidInput, check_id, check_name, check_optional_id, check_timestamp

DDL = """
CREATE TABLE IF NOT EXISTS api_keys (
    prefix                text PRIMARY KEY,
    secret_hash           bytea NOT NULL,
    app_id                text NOT NULL,
    user_id               text,
    scopes                text[] NOT NULL,
    name                  text NOT NULL DEFAULT '',
    description           text NOT NULL DEFAULT '',
    rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz,
    revoked_at            timestamptz,
    last_used_at          timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_by_app ON api_keys (app_id, created_at);
"""
COLUMNS = (
    "prefix, secret_hash, app_id, user_id, scopes, name, description, rate_limit_per_minute,"
    " created_at, expires_at, revoked_at, last_used_at"
)
SELECT_ONE = f"SELECT {COLUMNS} FROM api_keys WHERE prefix = %s"
TOUCH = "UPDATE api_keys SET last_used_at = now() WHERE prefix = %s"
DEFAULT_SCOPES = (Scope.READ, Scope.WRITE)
MAX_RATE_LIMIT = 1_000_000_000
MAX_DESCRIPTION_CHARS = 1_000


@dataclass(frozen=True)
class KeyRecord:
    """One key as stored (no secret: ``secret_hash`` is the HMAC, and never leaves this process)."""

    prefix: str
    app_id: str
    user_id: str | None
    scopes: tuple[Scope, ...]
    name: str
    description: str
    rate_limit_per_minute: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    secret_hash: bytes = field(repr=False, default=b"")

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def principal(self) -> Principal:
        return Principal(
            app_id=self.app_id,
            user_id=self.user_id,
            scopes=implied(frozenset(self.scopes)),
            credential=f"key:{self.prefix}",
            rate_limit=self.rate_limit_per_minute,
        )


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: ``key`` is the only time the secret exists outside its holder."""

    key: str = field(repr=False)
    record: KeyRecord


def record_of(row: dict[str, Any]) -> KeyRecord:
    return KeyRecord(
        prefix=row["prefix"],
        app_id=row["app_id"],
        user_id=row["user_id"],
        scopes=tuple(Scope(s) for s in row["scopes"]),
        name=row["name"],
        description=row["description"],
        rate_limit_per_minute=row["rate_limit_per_minute"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        secret_hash=bytes(row["secret_hash"]),
    )


def ensure_table(conn: psycopg.Connection) -> None:
    # Several processes may start at once: IF NOT EXISTS is not atomic in PostgreSQL.
    with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable), conn.transaction():
        conn.execute(DDL)


def scopes_named(names: Iterable[str]) -> tuple[Scope, ...]:
    """Scopes by name, in a stable order; an unknown name is refused with the known ones."""
    known = {s.value: s for s in Scope}
    chosen: set[Scope] = set()
    for name in names:
        if name not in known:
            raise InvalidInput("scopes", f"has {name!r}; the scopes are {', '.join(known)}")
        chosen.add(known[name])
    if not chosen:
        raise InvalidInput("scopes", "is empty; give at least one of " + ", ".join(known))
    return tuple(s for s in Scope if s in chosen)


def check_new_key(
    app_id: str,
    user_id: str | None,
    name: str,
    description: str,
    expires_at: datetime | None,
    rate_limit: int | None,
    now: datetime,
) -> None:
    check_id(app_id, "app_id")
    check_optional_id(user_id, "user_id")
    check_name(name, "name")
    check_name(description, "description")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput("description", f"has {len(description)} characters; the limit is {MAX_DESCRIPTION_CHARS}")
    check_timestamp(expires_at, "expires_at")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at", f"{expires_at.isoformat()} is not in the future")
    if rate_limit is not None and not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise InvalidInput("rate_limit_per_minute", f"must be between 1 and {MAX_RATE_LIMIT}")


def create_key(
    conn: psycopg.Connection,
    pepper: bytes,
    app_id: str,
    *,
    user_id: str | None = None,
    scopes: Sequence[Scope] = DEFAULT_SCOPES,
    name: str = "",
    description: str = "",
    expires_at: datetime | None = None,
    rate_limit: int | None = None,
) -> IssuedKey:
    """A new key of ``app_id``; ``InvalidInput`` names the field that is wrong."""
    check_new_key(app_id, user_id, name, description, expires_at, rate_limit, datetime.now(UTC))
    granted = scopes_named(scopes)
    while True:
        prefix, key = new_key()
        try:
            with conn.transaction():
                row = (
                    conn.cursor(row_factory=dict_row)
                    .execute(
                        "INSERT INTO api_keys (prefix, secret_hash, app_id, user_id, scopes, name, description,"
                        " rate_limit_per_minute, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        f" RETURNING {COLUMNS}",
                        (
                            prefix,
                            digest(pepper, key),
                            app_id,
                            user_id,
                            [s.value for s in granted],
                            name,
                            description,
                            rate_limit,
                            expires_at,
                        ),
                    )
                    .fetchone()
                )
        except psycopg.errors.UniqueViolation:
            continue  # one chance in 36^8 per key alive: draw another prefix
        assert row is not None
        return IssuedKey(key, record_of(row))


def find_key(conn: psycopg.Connection, prefix: str) -> KeyRecord | None:
    row = conn.cursor(row_factory=dict_row).execute(SELECT_ONE, (prefix,)).fetchone()
    return record_of(row) if row else None


async def read_key(conn: psycopg.AsyncConnection, prefix: str) -> KeyRecord | None:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(SELECT_ONE, (prefix,))
    row = await cursor.fetchone()
    return record_of(row) if row else None


def list_keys(conn: psycopg.Connection, app_id: str | None = None) -> list[KeyRecord]:
    """Every key (of one app when given), oldest first, revoked ones included."""
    where, params = ("WHERE app_id = %s", (app_id,)) if app_id is not None else ("", ())
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {COLUMNS} FROM api_keys {where} ORDER BY created_at, prefix", params
    )
    return [record_of(row) for row in rows]


def revoke_key(conn: psycopg.Connection, prefix: str, app_id: str | None = None) -> KeyRecord | None:
    """Revoke the key (once: a second revocation keeps the first time); ``None`` when there is no such key, or it
    belongs to another app than ``app_id`` (when given). Every API process refuses it within a second
    (api.gateway.key_verifier)."""
    with conn.transaction():
        row = (
            conn.cursor(row_factory=dict_row)
            .execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
                " WHERE prefix = %s AND (%s::text IS NULL OR app_id = %s)"
                f" RETURNING {COLUMNS}",
                (prefix, app_id, app_id),
            )
            .fetchone()
        )
    return record_of(row) if row else None
