"""Bodies of the key routes (api.gateway.admin_keys); every rule the store checks is stated here too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.gateway.key_store import MAX_DESCRIPTION_CHARS, MAX_RATE_LIMIT, KeyRecord
from api.schemas import NonEmptyId
from memory.contract.validation import MAX_NAME_CHARS, NAME_PATTERN

MAX_EXPIRES_IN_SECONDS = 100 * 366 * 24 * 3600  # a century: "never" is saying nothing

ScopeName = Literal["memories:read", "memories:write", "admin"]
Line = Annotated[str, msgspec.Meta(max_length=MAX_NAME_CHARS, pattern=NAME_PATTERN)]
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION_CHARS, pattern=NAME_PATTERN)]


class CreateKeyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A new key of the caller's app."""

    app_id: NonEmptyId | None = None  # default: the caller's app, and no other may be named
    user_id: NonEmptyId | None = None  # bind the key to this one user
    scopes: Annotated[
        list[ScopeName], msgspec.Meta(min_length=1, max_length=3, description="'admin' implies read and write")
    ] = msgspec.field(default_factory=lambda: ["memories:read", "memories:write"])
    name: Line = ""
    description: Description = ""
    expires_in_seconds: (
        Annotated[int, msgspec.Meta(ge=1, le=MAX_EXPIRES_IN_SECONDS, description="default: never expires")] | None
    ) = None
    rate_limit_per_minute: (
        Annotated[int, msgspec.Meta(ge=1, le=MAX_RATE_LIMIT, description="default: the app's or the server's")] | None
    ) = None


class KeyOut(msgspec.Struct):
    """A key as listed: its public prefix and what it may do; never the secret."""

    prefix: str
    app_id: str
    user_id: str | None
    scopes: list[str]
    name: str
    description: str
    rate_limit_per_minute: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class CreatedKey(KeyOut):
    """``key`` is shown this once: only its hash is kept."""

    key: str


class KeyList(msgspec.Struct):
    keys: list[KeyOut]


def key_out(record: KeyRecord) -> KeyOut:
    return KeyOut(*_fields(record))


def created_key(record: KeyRecord, key: str) -> CreatedKey:
    return CreatedKey(*_fields(record), key=key)


def _fields(
    record: KeyRecord,
) -> tuple[
    str, str, str | None, list[str], str, str, int | None, datetime, datetime | None, datetime | None, datetime | None
]:
    """KeyOut's fields in their order."""
    return (
        record.prefix,
        record.app_id,
        record.user_id,
        [s.value for s in record.scopes],
        record.name,
        record.description,
        record.rate_limit_per_minute,
        record.created_at,
        record.expires_at,
        record.revoked_at,
        record.last_used_at,
    )
