"""Idempotency keys in PostgreSQL: ``idempotency_keys`` in the live schema (the one ``settings.postgres_dsn``
names), beside ``api_keys``. Not a projection: keys are the API's own record of what it answered, not derived
from the log, so no rebuild, switch or drop of the projections touches them.

*Why the database decides.* The API runs as several processes; two retries of one request may reach two of
them at once. A key is *reserved* by inserting its row (the primary key is the caller's scope and the key):
exactly one insert wins, whichever process makes it, and only the winner runs the route. The others read the
row: a different request under the key is refused, the first answer is replayed once it is stored, and while
it is not, the caller is told to retry (409). Nothing of this lives in process memory.

*Leases.* A reservation carries a lease: a process that died while running the route never stores an answer,
and its key would otherwise answer 409 for a whole day. Once the lease has lapsed, the next request with the
key takes the reservation over (a compare-and-set on the attempt id) and runs the route again. The lease is
far longer than any idempotent route takes (the producer gives up after 30 s), so a slow first attempt is not
taken over while it still runs; an answer is only stored by the attempt that holds the reservation.

*Expiry.* A key is remembered for ``remembered`` (24 h by default) from its reservation; after that the same
key starts afresh. Expired rows are purged lazily: the expired row of a key being reused at once, and the
others in bounded batches, at most once a ``purge_every`` per process, by the requests that reserve keys.

Imports no web framework.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

DDL = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner           text NOT NULL,
    idempotency_key text NOT NULL,
    fingerprint     bytea NOT NULL,
    attempt         uuid NOT NULL,
    reserved_at     timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    completed_at    timestamptz,
    status_code     integer,
    headers         jsonb,
    body            bytea,
    PRIMARY KEY (owner, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
"""
REMEMBERED = timedelta(hours=24)
LEASE = timedelta(seconds=120)
PURGE_EVERY_SECONDS = 60.0
PURGE_BATCH = 1_000
# Seconds a caller is told to wait while the first request with its key is still running (they take milliseconds).
IN_FLIGHT_RETRY_AFTER = 1
# A reservation race lost to an expiry or a takeover is tried again; more rounds than this means something is wrong.
MAX_ROUNDS = 5

RESERVE = """
INSERT INTO idempotency_keys (owner, idempotency_key, fingerprint, attempt, lease_until, expires_at)
VALUES (%(owner)s, %(key)s, %(fingerprint)s, %(attempt)s, now() + %(lease)s, now() + %(remembered)s)
ON CONFLICT (owner, idempotency_key) DO NOTHING
RETURNING attempt
"""
READ = """
SELECT fingerprint, attempt, status_code, headers, body, lease_until <= now() AS lapsed, expires_at <= now() AS expired
FROM idempotency_keys WHERE owner = %(owner)s AND idempotency_key = %(key)s
"""
FORGET_EXPIRED = """
DELETE FROM idempotency_keys WHERE owner = %(owner)s AND idempotency_key = %(key)s AND expires_at <= now()
"""
TAKE_OVER = """
UPDATE idempotency_keys SET attempt = %(attempt)s, lease_until = now() + %(lease)s
WHERE owner = %(owner)s AND idempotency_key = %(key)s AND attempt = %(lapsed)s
  AND status_code IS NULL AND lease_until <= now()
RETURNING attempt
"""
COMPLETE = """
UPDATE idempotency_keys SET status_code = %(status)s, headers = %(headers)s, body = %(body)s, completed_at = now()
WHERE owner = %(owner)s AND idempotency_key = %(key)s AND attempt = %(attempt)s AND status_code IS NULL
"""
RELEASE = """
DELETE FROM idempotency_keys
WHERE owner = %(owner)s AND idempotency_key = %(key)s AND attempt = %(attempt)s AND status_code IS NULL
"""
PURGE = """
DELETE FROM idempotency_keys WHERE (owner, idempotency_key) IN (
  SELECT owner, idempotency_key FROM idempotency_keys WHERE expires_at <= now() LIMIT %(batch)s
)
"""


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> bytes:
    """What makes two requests "the same request": method, path, query string and body bytes, hashed."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two splits of the bytes hash alike
        digest.update(part)
    return digest.digest()


@dataclass(frozen=True)
class Reserved:
    """This request holds the key: run the route, then ``complete`` (or ``release``) with ``attempt``."""

    attempt: uuid.UUID


@dataclass(frozen=True)
class Replay:
    """The key's first answer, to send again."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request."""


@dataclass(frozen=True)
class InFlight:
    """The first request with this key is still running."""

    retry_after: int


Outcome = Reserved | Replay | Mismatch | InFlight


class IdempotencyStore:
    def __init__(
        self,
        dsn: str,
        remembered: timedelta = REMEMBERED,
        lease: timedelta = LEASE,
        purge_every: float = PURGE_EVERY_SECONDS,
        pool_size: int = 4,
    ):
        self._dsn = dsn
        self._remembered = remembered
        self._lease = lease
        self._purge_every = purge_every
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool | None = None
        self._purged_at = float("-inf")

    async def open(self) -> None:
        """Create the table if needed and open the pool (at the API's start)."""
        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            await ensure_table(conn)
        # check=: a connection a PostgreSQL restart killed is replaced before a request gets it.
        pool = AsyncConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self._pool_size,
            open=False,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
        )
        await pool.open(wait=True, timeout=30)
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _opened(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise RuntimeError("IdempotencyStore.open() was not awaited")
        return self._pool

    async def reserve(self, owner: str, key: str, fingerprint: bytes) -> Outcome:
        """Reserve ``key`` of ``owner`` for the request ``fingerprint``, or say why this request may not run."""
        await self._purge_now_and_then()
        attempt = uuid.uuid4()
        params = {
            "owner": owner,
            "key": key,
            "fingerprint": fingerprint,
            "attempt": attempt,
            "lease": self._lease,
            "remembered": self._remembered,
        }
        async with self._opened().connection() as conn:
            for _ in range(MAX_ROUNDS):
                if await (await conn.execute(RESERVE, params)).fetchone() is not None:
                    return Reserved(attempt)
                row = await (await conn.execute(READ, params)).fetchone()
                if row is None:
                    continue  # released or purged since the insert: try again
                stored_fingerprint, holder, status, headers, body, lapsed, expired = row
                if expired:
                    await conn.execute(FORGET_EXPIRED, params)
                    continue
                if bytes(stored_fingerprint) != fingerprint:
                    return Mismatch()
                if status is not None:
                    return Replay(status, [(str(n), str(v)) for n, v in headers or []], bytes(body or b""))
                if not lapsed:
                    return InFlight(IN_FLIGHT_RETRY_AFTER)
                # The holder's lease lapsed without an answer (its process died): this request takes over.
                if await (await conn.execute(TAKE_OVER, {**params, "lapsed": holder})).fetchone() is not None:
                    return Reserved(attempt)
        raise RuntimeError(f"idempotency key {key!r}: no decision after {MAX_ROUNDS} rounds")

    async def complete(
        self,
        owner: str,
        key: str,
        attempt: uuid.UUID,
        status_code: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> bool:
        """Store the answer of the attempt holding the key; ``False`` if it no longer holds it."""
        params = {
            "owner": owner,
            "key": key,
            "attempt": attempt,
            "status": status_code,
            "headers": Jsonb([list(pair) for pair in headers]),
            "body": body,
        }
        async with self._opened().connection() as conn:
            cursor = await conn.execute(COMPLETE, params)
            return cursor.rowcount == 1

    async def release(self, owner: str, key: str, attempt: uuid.UUID) -> None:
        """Forget the reservation without an answer: the next request with the key runs the route again."""
        async with self._opened().connection() as conn:
            await conn.execute(RELEASE, {"owner": owner, "key": key, "attempt": attempt})

    async def purge(self) -> int:
        """Delete up to one batch of expired keys; how many were deleted."""
        async with self._opened().connection() as conn:
            cursor = await conn.execute(PURGE, {"batch": PURGE_BATCH})
            return cursor.rowcount

    async def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._purged_at < self._purge_every:
            return
        self._purged_at = now
        await self.purge()


async def ensure_table(conn: psycopg.AsyncConnection) -> None:
    # Several API processes start at once: IF NOT EXISTS is not atomic in PostgreSQL.
    with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
        async with conn.transaction():
            await conn.execute(DDL)
