"""Log positions and the consistency token a write returns.

A token is ``mst1.<payload>.<signature>``, both parts unpadded URL-safe base64: the payload is the canonical
JSON ``{"<topic>:<partition>": <highest offset>}``, the signature HMAC-SHA256 over ``mst1.`` and the payload
bytes with the API's key (adapters.token_key). Only the API that holds the key can issue one, so a read never
waits on positions someone made up; the prefix names the format so a later one can sit beside it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from memory.errors import MemoryError_

VERSION_PREFIX = "mst1."
# Far above any real token (a write's messages share one partition) and the query parameter's own limit.
MAX_TOKEN_CHARS = 4000
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]{1,9}")


class InvalidTokenError(MemoryError_):
    pass


@dataclass(frozen=True, order=True)
class LogPosition:
    topic: str
    partition: int
    offset: int


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    if not _BASE64URL.fullmatch(text):
        raise InvalidTokenError("malformed consistency token: not URL-safe base64")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidTokenError(f"malformed consistency token: {exc}") from exc


def _signature(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, VERSION_PREFIX.encode() + payload, hashlib.sha256).digest()


def encode_token(positions: list[LogPosition], key: bytes) -> str:
    """Opaque to callers: the highest produced offset per topic partition, signed with ``key``."""
    highest: dict[str, int] = {}
    for p in positions:
        name = f"{p.topic}:{p.partition}"
        highest[name] = max(highest.get(name, -1), p.offset)
    payload = json.dumps(highest, sort_keys=True, separators=(",", ":")).encode()
    return f"{VERSION_PREFIX}{_b64encode(payload)}.{_b64encode(_signature(key, payload))}"


def decode_token(token: str, key: bytes) -> list[LogPosition]:
    """The positions of a token this API signed; ``InvalidTokenError`` for anything else."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidTokenError(f"consistency token longer than {MAX_TOKEN_CHARS} characters")
    if not token.startswith(VERSION_PREFIX):
        raise InvalidTokenError("unknown consistency token format: pass the token a write of this API returned")
    parts = token[len(VERSION_PREFIX) :].split(".")
    if len(parts) != 2:
        raise InvalidTokenError("malformed consistency token: expected a payload and a signature")
    payload, signature = (_b64decode(part) for part in parts)
    # Verify before parsing: nothing of an unsigned payload is read. compare_digest: no timing oracle.
    if not hmac.compare_digest(signature, _signature(key, payload)):
        raise InvalidTokenError("consistency token signature does not match: not issued by this API, or altered")
    return _positions(payload)


def _positions(payload: bytes) -> list[LogPosition]:
    # Signed by us, so well formed unless the key leaked or the format changed: checked all the same.
    try:
        raw = json.loads(payload)
    except ValueError as exc:
        raise InvalidTokenError(f"malformed consistency token: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidTokenError("malformed consistency token: not a map of positions")
    result = []
    for name, offset in raw.items():
        topic, _, partition = name.rpartition(":")
        if not topic or not _DIGITS.fullmatch(partition) or type(offset) is not int or offset < 0:
            raise InvalidTokenError(f"malformed consistency token: bad position {name!r}")
        result.append(LogPosition(topic, int(partition), offset))
    return result
