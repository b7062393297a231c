"""Rate limits: each caller's requests counted in one-minute windows in Redis, shared by every API process.

*Windows.* Fixed and aligned to the clock: the window of a request is ``floor(now / 60)``, and it is part of
the counter's key. Every API process therefore counts the same minute in the same key, the boundary is exact
(the N-th request of a minute passes, the N+1-th is refused, whichever process answers), and the seconds
until the reset come from the clock, so one request costs one Redis round trip: the ``limits`` library's
atomic increment-and-expire script (``limits.aio.storage.RedisStorage.incr``). (``limits``' own fixed
window starts at each caller's first hit, so its reset time would need a second and third round trip.)

*Keys.* ``<redis_prefix>ratelimit:LIMITER/<rate key>/<window>/<limit>/1/MINUTE`` (``RateLimitItem.key_for``):
the window and the limit are digits after the caller's rate key, so two callers never share a counter. A
counter lives one minute past its first request.

*Redis down.* Each process counts in its own memory instead (``limits``' memory storage, same keys), logs a
warning, and tries Redis again after ``RETRY_SHARED_SECONDS``. The limiter protects capacity, not data:
tenancy never depends on it. So an outage of the counter store should neither stop the API (refusing every
request would turn a cache outage into a full outage) nor remove the protection just when a store is
struggling (letting everything through). Per process, a caller still meets its limit, at most N times the
number of processes a minute in all, and the headers stay true for the process that answers.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.metrics import RATE_LIMIT_REFUSALS
from api.gateway.principal import Principal
from api.gateway.rate_policy import RatePolicy
from memory.settings import Settings

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
RETRY_SHARED_SECONDS = 2.0
# Liveness, readiness and the docs are never counted (a load balancer's probes must not spend a budget).
EXEMPT_PATHS = ("^/health$", "^/ready$", "^/schema")
# A counter store that does not answer within this is treated as down (the request then counts locally).
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Count:
    """One request counted: the caller's limit, how many requests its window holds now, seconds to the reset."""

    limit: int
    used: int
    reset_seconds: int

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> list[tuple[str, str]]:
        """The RateLimit header fields (IETF draft ``RateLimit-Limit/Remaining/Reset``, reset in seconds)."""
        return [
            ("ratelimit-limit", str(self.limit)),
            ("ratelimit-remaining", str(self.remaining)),
            ("ratelimit-reset", str(self.reset_seconds)),
        ]


def storage_uri(redis_url: str) -> str:
    """The ``limits`` URI of a redis-py URL: ``redis://…`` → ``async+redis://…`` (and ``rediss``, ``unix``)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return f"async+{redis_url}"


class RateCounter:
    """Counts requests per (rate key, limit, minute) in Redis; in process memory while Redis is unreachable."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self._shared = RedisStorage(
            storage_uri(settings.redis_url),
            implementation="redispy",
            key_prefix=f"{settings.redis_prefix}ratelimit",
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._local = MemoryStorage()
        self._clock = clock
        self._shared_down_until = float("-inf")  # monotonic time before which Redis is not tried again

    async def hit(self, rate_key: str, limit: int) -> Count:
        now = self._clock()
        window = math.floor(now / WINDOW_SECONDS)
        key = RateLimitItemPerMinute(limit).key_for(rate_key, window)
        used = await self._increment(key)
        reset = math.ceil((window + 1) * WINDOW_SECONDS - now)
        return Count(limit=limit, used=used, reset_seconds=max(1, reset))

    async def _increment(self, key: str) -> int:
        if time.monotonic() >= self._shared_down_until:
            try:
                used = await self._shared.incr(key, WINDOW_SECONDS)
            except self._shared.base_exceptions as exc:
                if self._shared_down_until == float("-inf"):
                    log.warning("rate limits: Redis unreachable (%r); counting in this process until it is back", exc)
                self._shared_down_until = time.monotonic() + RETRY_SHARED_SECONDS
            else:
                if self._shared_down_until != float("-inf"):
                    log.warning("rate limits: Redis answers again; counts are shared by every API process again")
                    self._shared_down_until = float("-inf")
                return used
        return await self._local.incr(key, WINDOW_SECONDS)


def too_many_requests(count: Count) -> ASGIResponse:
    """429 with the error body every refusal of the API has (api/errors.py) and ``Retry-After``."""
    detail = (
        f"rate limit exceeded: {count.limit} requests per minute for this caller; "
        f"the window resets in {count.reset_seconds} s"
    )
    body = json.dumps({"status_code": 429, "detail": detail}).encode()
    return ASGIResponse(
        body=body,
        status_code=429,
        media_type="application/json",
        headers=[*count.headers(), ("retry-after", str(count.reset_seconds))],
    )


class RateLimitMiddleware(ASGIMiddleware):
    """Counts every authenticated request (placed after authentication, which sets ``scope["user"]``)."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = EXEMPT_PATHS

    def __init__(self, counter: RateCounter, policy: RatePolicy) -> None:
        self._counter = counter
        self._policy = policy

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("user")
        if not isinstance(principal, Principal):
            # Not authenticated here (a CORS preflight: authentication lets OPTIONS through): nobody to count.
            await next_app(scope, receive, send)
            return
        count = await self._counter.hit(principal.rate_key, self._policy.limit_for(principal))
        if not count.allowed:
            RATE_LIMIT_REFUSALS.inc()
            await too_many_requests(count)(scope, receive, send)
            return
        headers = [(name.encode(), value.encode()) for name, value in count.headers()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await next_app(scope, receive, send_with_headers)


def rate_limiting(settings: Settings) -> RateLimitMiddleware | None:
    """The middleware, or ``None`` when authentication is off.

    Without authentication there is no verified caller to count: every request is the same anonymous
    principal, so one budget would throttle a whole local experiment as if it were one user, and counting by
    the user id a request names would let anyone spend another user's budget. Authentication off is for local
    experiments on loopback only, where no limit is wanted.
    """
    if not settings.auth_enabled:
        return None
    return RateLimitMiddleware(RateCounter(settings), RatePolicy.from_settings(settings))
