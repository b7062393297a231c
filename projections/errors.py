"""Which store errors are worth waiting out (outage, restart) and which mean the event itself is bad."""

from __future__ import annotations

import neo4j.exceptions
import psycopg
import redis.exceptions
from pymilvus.exceptions import MilvusException

_TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    neo4j.exceptions.ServiceUnavailable,
    neo4j.exceptions.SessionExpired,
    neo4j.exceptions.TransientError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT):
        return True
    # Milvus reports outages and bad rows with one exception type; its code tells them apart.
    if isinstance(exc, MilvusException):
        return getattr(exc, "code", None) in (1, 2, 14, 503) or "connect" in str(exc).lower()
    return False
