"""Log positions and the consistency token a write returns."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from memory.errors import MemoryError_


class InvalidTokenError(MemoryError_):
    pass


@dataclass(frozen=True, order=True)
class LogPosition:
    topic: str
    partition: int
    offset: int


def encode_token(positions: list[LogPosition]) -> str:
    """Opaque to callers; today it is the highest produced offset per topic partition."""
    highest: dict[str, int] = {}
    for p in positions:
        key = f"{p.topic}:{p.partition}"
        highest[key] = max(highest.get(key, -1), p.offset)
    return base64.urlsafe_b64encode(json.dumps(highest, sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str) -> list[LogPosition]:
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        result = []
        for key, offset in raw.items():
            topic, partition = key.rsplit(":", 1)
            result.append(LogPosition(topic, int(partition), int(offset)))
        return result
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidTokenError(f"malformed consistency token: {exc}") from exc
