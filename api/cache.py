"""The hot cache of search results in Redis, keyed so that a change makes old entries unreachable.

Key: ``<prefix>search:<scope>:<epoch digest>:<request digest>``. The epoch digest covers every projector's
started counter for the scope (projections.cache_epochs); while any projector is committing for the scope
the cache is neither read nor filled. Entries also expire (TTL), because relevance drifts with time
(recency) even when nothing is written. A Redis outage degrades to uncached searches, never to errors.
"""

from __future__ import annotations

import hashlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from projections.cache_epochs import epoch_key
from projections.redis.keys import search_key

log = logging.getLogger(__name__)
DEFAULT_TTL_SECONDS = 300


class SearchCache:
    def __init__(self, client: Redis, prefix: str, ttl_seconds: int = DEFAULT_TTL_SECONDS):
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl_seconds

    async def ping(self) -> None:
        """A round trip to Redis (api/readiness.py); raises when it does not answer."""
        await self._redis.ping()

    async def epoch(self, scope_key: str) -> str | None:
        """A digest of the scope's epochs, or None when a projector is mid-commit (or Redis is away)."""
        try:
            fields = await self._redis.hgetall(epoch_key(self._prefix, scope_key))
        except RedisError as exc:
            log.warning("cache unavailable (%s); searching without it", exc)
            return None
        counters = {k.decode(): v.decode() for k, v in fields.items()}
        started = sorted((k, v) for k, v in counters.items() if k.endswith(":s"))
        for name, value in started:
            if counters.get(name[:-2] + ":f") != value:
                return None
        return hashlib.blake2b(repr(started).encode(), digest_size=8).hexdigest()

    def key(self, scope_key: str, epoch: str, request: bytes) -> str:
        digest = hashlib.blake2b(request, digest_size=16).hexdigest()
        return search_key(self._prefix, scope_key, epoch, digest)

    async def get(self, key: str) -> bytes | None:
        try:
            value: bytes | None = await self._redis.get(key)
            return value
        except RedisError as exc:
            log.warning("cache read failed (%s)", exc)
            return None

    async def put(self, key: str, value: bytes, scope_key: str, epoch: str) -> bool:
        """Store only if the epoch did not move while the result was computed (else it may be stale)."""
        if await self.epoch(scope_key) != epoch:
            return False
        try:
            await self._redis.set(key, value, ex=self._ttl)
        except RedisError as exc:
            log.warning("cache write failed (%s)", exc)
            return False
        return True

    async def close(self) -> None:
        await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis lags redis 5
