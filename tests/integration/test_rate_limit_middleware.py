"""The rate limiter behind the real authentication middleware, counting in the stack's Redis.

A verifier of this test stands in for API keys (another part of the gateway issues them): it turns a few
credentials into principals the way a key does, with an app, an optional user and an optional limit of the
key's own. The clock is fixed in the middle of a minute so that small limits never straddle a window.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from api.errors import EXCEPTION_HANDLERS, NotFound
from api.gateway.authenticate import authentication
from api.gateway.principal import Principal, Scope
from api.gateway.rate_limit import RateCounter, RateLimitMiddleware, rate_limiting
from api.gateway.rate_policy import RatePolicy
from memory.settings import Settings
from tests.e2e.conftest import free_port

READ = frozenset({Scope.READ})
KEYS = {
    "key-a-own": Principal("app-a", None, READ, "key:a-own", rate_limit=3),  # a key with its own limit
    "key-a-plain": Principal("app-a", None, READ, "key:a-plain"),  # app-wide, on its app's limit
    "key-a-other": Principal("app-a", None, READ, "key:a-other"),  # another app-wide key of the same app
    "key-b": Principal("app-b", None, READ, "key:b"),  # an app without a limit of its own: the default
    "key-u1": Principal("app-a", "ursula", READ, "key:u1"),  # two credentials bound to one user
    "key-u2": Principal("app-a", "ursula", READ, "key:u2"),
}


class KeyVerifier:
    async def verify(self, credential: str) -> Principal | None:
        return KEYS.get(credential)


@get("/v1/ping", sync_to_thread=False)
def ping() -> dict[str, bool]:
    return {"ok": True}


@get("/v1/missing", sync_to_thread=False)
def missing() -> None:
    raise NotFound("no such thing")


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def mid_minute() -> float:
    return (math.floor(time.time() / 60) + 0.5) * 60  # the current window, 30 s before it resets


def client_for(settings: Settings) -> TestClient[Litestar]:
    limiter = RateLimitMiddleware(RateCounter(settings, clock=mid_minute), RatePolicy.from_settings(settings))
    app = Litestar(
        [ping, missing, health],
        middleware=[authentication(settings, [KeyVerifier()], docs_public=True), limiter],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    return TestClient(app)


@pytest.fixture
def gated(settings: Settings) -> Settings:
    return replace(settings, auth_enabled=True, rate_limit_per_minute=7, rate_limits_per_app="app-a=4")


@pytest.fixture
def client(gated: Settings) -> Iterator[TestClient[Litestar]]:
    with client_for(gated) as test_client:
        yield test_client


def calls(client: TestClient[Litestar], key: str, n: int, path: str = "/v1/ping") -> list[tuple[int, str, str]]:
    answers = [client.get(path, headers={"Authorization": f"Bearer {key}"}) for _ in range(n)]
    return [
        (a.status_code, a.headers.get("RateLimit-Limit", ""), a.headers.get("RateLimit-Remaining", "")) for a in answers
    ]


def test_a_keys_own_limit_wins_over_its_apps_which_wins_over_the_default(client: TestClient[Litestar]) -> None:
    assert calls(client, "key-a-own", 4) == [(200, "3", "2"), (200, "3", "1"), (200, "3", "0"), (429, "3", "0")]
    assert calls(client, "key-a-plain", 5)[-2:] == [(200, "4", "0"), (429, "4", "0")]
    assert calls(client, "key-b", 8)[-2:] == [(200, "7", "0"), (429, "7", "0")]


def test_app_wide_keys_count_apart_and_a_users_credentials_count_together(client: TestClient[Litestar]) -> None:
    assert calls(client, "key-a-plain", 4)[-1] == (200, "4", "0")
    assert calls(client, "key-a-other", 1) == [(200, "4", "3")]  # its own count
    assert calls(client, "key-u1", 2) == [(200, "4", "3"), (200, "4", "2")]
    assert calls(client, "key-u2", 3) == [(200, "4", "1"), (200, "4", "0"), (429, "4", "0")]  # the same user's


def test_every_answer_carries_the_headers_and_a_refusal_says_when_to_retry(client: TestClient[Litestar]) -> None:
    headers = {"Authorization": "Bearer key-a-own"}
    not_found = client.get("/v1/missing", headers=headers)
    assert not_found.status_code == 404 and not_found.headers["RateLimit-Remaining"] == "2"
    assert not_found.headers["RateLimit-Reset"] == "30"  # seconds to the end of the (fixed) minute
    client.get("/v1/ping", headers=headers)
    client.get("/v1/ping", headers=headers)
    refused = client.get("/v1/ping", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30" and refused.headers["content-type"].startswith("application/json")
    assert refused.json() == {
        "status_code": 429,
        "detail": "rate limit exceeded: 3 requests per minute for this caller; the window resets in 30 s",
    }
    # Liveness is not counted, and a request without a credential is refused before anything is counted.
    assert "RateLimit-Limit" not in client.get("/health").headers
    assert client.get("/v1/ping").status_code == 401


def test_two_counters_on_one_redis_share_the_count(gated: Settings) -> None:
    """What two API processes do: separate limiter objects, one count."""
    with client_for(gated) as first, client_for(gated) as second:
        assert calls(first, "key-a-own", 2)[-1] == (200, "3", "1")
        assert calls(second, "key-a-own", 2) == [(200, "3", "0"), (429, "3", "0")]


class Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_without_redis_each_process_still_limits_and_says_so(gated: Settings) -> None:
    unreachable = replace(gated, redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    # On the module's logger itself: Litestar's logging set-up replaces the root logger's handlers.
    recorded, logger = Recorded(), logging.getLogger("api.gateway.rate_limit")
    logger.addHandler(recorded)
    try:
        with client_for(unreachable) as client:
            answers = calls(client, "key-a-own", 4)
    finally:
        logger.removeHandler(recorded)
    assert answers == [(200, "3", "2"), (200, "3", "1"), (200, "3", "0"), (429, "3", "0")]
    warnings = [m for m in recorded.messages if "Redis unreachable" in m]
    assert len(warnings) == 1, recorded.messages  # once per outage, not once per request


def test_no_limiter_without_authentication(settings: Settings) -> None:
    # Every request is the same anonymous caller then: there is no one to count (see rate_limiting).
    assert rate_limiting(replace(settings, auth_enabled=False)) is None
    assert rate_limiting(replace(settings, auth_enabled=True)) is not None
