"""Verifies API keys on every request, cheaply, and honours a revocation on every API process within a second.

*How a revocation reaches every process*: each process keeps what it read of a key for at most
``CACHE_SECONDS`` (0.5 s), counted from *before* the read was sent. A revocation committed at T is therefore seen
by every request that starts after T + 0.5 s, on every process, with nothing to deliver and nothing that can be
lost (a LISTEN connection that drops silently, a notification sent while a process restarts). The price is one
indexed primary-key read per key, per process, per half second (~0.3 ms, off the path of every other request of
that key), so a busy key costs the database a couple of reads a second per process, whatever its request rate.

Concurrent requests of one key share one read. What is cached is the row, never the verdict: the HMAC of the
presented key is compared to the stored one (in constant time) on every request, and expiry is checked against
the clock on every request, so a key expires on the second even while cached.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg_pool import AsyncConnectionPool

from adapters.api_key_pepper import api_key_pepper
from api.errors import Unauthorized
from api.gateway.key_format import SHAPE, looks_like_key, matches, prefix_of
from api.gateway.key_store import TOUCH, KeyRecord, ensure_table, read_key
from api.gateway.principal import Principal
from memory.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 0.5
MAX_CACHED = 10_000
# ``last_used_at`` is a hint for people reviewing keys, not an audit log: written at most once a minute per key.
TOUCH_SECONDS = 60.0


@dataclass(frozen=True)
class _Read:
    record: KeyRecord | None  # None: no key has this prefix
    principal: Principal | None
    started: float  # time.monotonic() before the read was sent


class ApiKeyVerifier:
    """The ``Verifier`` (api.gateway.authenticate) of ``ms_...`` credentials."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pepper = b""
        self._pool: AsyncConnectionPool | None = None
        self._reads: dict[str, _Read] = {}
        self._pending: dict[str, tuple[float, asyncio.Future[_Read]]] = {}  # prefix -> (started, read)
        self._touched: dict[str, float] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Read the pepper, create the table if it is missing, open the pool (the app's lifespan calls it)."""
        self._pepper = await asyncio.to_thread(api_key_pepper, self._settings)
        await asyncio.to_thread(self._ensure_table)
        # Its own small pool on the live schema: key reads never wait behind search queries for a connection.
        # Autocommit: a key read is one round trip, no BEGIN/COMMIT around it.
        self._pool = AsyncConnectionPool(
            self._settings.postgres_dsn,
            min_size=1,
            max_size=4,
            open=False,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
        )
        await self._pool.open(wait=True, timeout=30)

    @property
    def dsn(self) -> str:
        return self._settings.postgres_dsn

    @property
    def pepper(self) -> bytes:
        if not self._pepper:
            raise RuntimeError("ApiKeyVerifier.start() was not awaited (the app's lifespan starts it)")
        return self._pepper

    def _ensure_table(self) -> None:
        with psycopg.connect(self._settings.postgres_dsn, autocommit=True) as conn:
            ensure_table(conn)

    async def close(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()

    async def verify(self, credential: str) -> Principal | None:
        if not looks_like_key(credential):
            return None
        prefix = prefix_of(credential)
        if prefix is None:
            raise Unauthorized(f"the API key is malformed: an API key has the shape {SHAPE}")
        read = await self._read(prefix)
        record, principal = read.record, read.principal
        if record is None or principal is None or not matches(self._pepper, credential, record.secret_hash):
            # A wrong secret under a real prefix is answered like an unknown key: prefixes are public.
            raise Unauthorized("unknown API key")
        if record.revoked_at is not None:
            raise Unauthorized(f"the API key {prefix} was revoked at {record.revoked_at.isoformat()}")
        if record.expired(datetime.now(UTC)):
            assert record.expires_at is not None
            raise Unauthorized(f"the API key {prefix} expired at {record.expires_at.isoformat()}")
        self._touch(record)
        return principal

    async def _read(self, prefix: str) -> _Read:
        cached = self._reads.get(prefix)
        if cached is not None and time.monotonic() - cached.started < CACHE_SECONDS:
            return cached
        pending = self._pending.get(prefix)
        # A read in flight is joined only while it is young enough to be cached: one that started more than
        # CACHE_SECONDS ago (a very slow database) may predate a revocation this request must see.
        if pending is None or time.monotonic() - pending[0] >= CACHE_SECONDS:
            started = time.monotonic()
            future = asyncio.ensure_future(self._fetch(prefix, started))
            pending = (started, future)
            self._pending[prefix] = pending
            future.add_done_callback(lambda _: self._forget(prefix, future))
        # shield: one caller giving up (a client disconnecting) does not cancel the read the others wait for.
        return await asyncio.shield(pending[1])

    def _forget(self, prefix: str, future: asyncio.Future[_Read]) -> None:
        if prefix in self._pending and self._pending[prefix][1] is future:
            del self._pending[prefix]

    async def _fetch(self, prefix: str, started: float) -> _Read:
        if self._pool is None:
            raise RuntimeError("ApiKeyVerifier.start() was not awaited (the app's lifespan starts it)")
        async with self._pool.connection() as conn:
            record = await read_key(conn, prefix)
        read = _Read(record, record.principal() if record else None, started)
        if len(self._reads) >= MAX_CACHED:
            self._evict(started)
        current = self._reads.get(prefix)
        if current is None or current.started < started:  # never replace a younger read with an older one
            self._reads[prefix] = read
        return read

    def _evict(self, now: float) -> None:
        self._reads = {p: r for p, r in self._reads.items() if now - r.started < CACHE_SECONDS}
        if len(self._reads) >= MAX_CACHED:  # a flood of distinct prefixes: forget them all, they are re-read
            self._reads.clear()

    def _touch(self, record: KeyRecord) -> None:
        now = time.monotonic()
        if len(self._touched) >= MAX_CACHED:
            self._touched.clear()
        if now - self._touched.get(record.prefix, -TOUCH_SECONDS) < TOUCH_SECONDS:
            return
        if (
            record.last_used_at is not None
            and (datetime.now(UTC) - record.last_used_at).total_seconds() < TOUCH_SECONDS
        ):
            self._touched[record.prefix] = now
            return
        self._touched[record.prefix] = now
        task = asyncio.create_task(self._write_touch(record.prefix))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _write_touch(self, prefix: str) -> None:
        assert self._pool is not None
        try:
            async with self._pool.connection() as conn:
                await conn.execute(TOUCH, (prefix,))
        except Exception:  # a hint only: never fail or slow a request for it
            log.warning("could not record the last use of API key %s", prefix, exc_info=True)
