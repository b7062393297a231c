"""Rate limits on the running system: two API processes share each caller's count in Redis, exactly.

Authentication on (HS256 JWTs). The default limit (1,000 a minute) is tested at its boundary with requests
alternating between the two processes: every answer's ``RateLimit-Remaining`` is one less than the one before,
whichever process gave it, the 1,000th request passes and the 1,001st is refused by either. Windows are
aligned to the clock, so the run starts in a window with time enough left (read from ``RateLimit-Reset``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import jwt
import pytest

from api.gateway.principal import Scope as KeyScope
from memory.settings import Settings
from memstream_cli.processes import System, start_system
from tests.e2e.conftest import RunningSystem, free_port, running_system
from tests.support import bearer as key_bearer
from tests.support import issue_key, unique

SECRET = "rate-limit-test-secret-0123456789abcdef"
DEFAULT_LIMIT = 1000
SMALL_APP = unique("small-")
SMALL_LIMIT = 5
KEY_LIMIT = 3
# Time the 1,001 requests need at most (about 4 s on the 2-core machine): a run starts with this much left.
RUN_SECONDS = 20


def bearer(app_id: str, user_id: str, scope: str = "memories:read") -> dict[str, str]:
    claims = {"sub": user_id, "app_id": app_id, "scope": scope, "exp": int(time.time()) + 3600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


@dataclass
class TwoApis:
    system: RunningSystem
    second: System

    def clients(self) -> list[httpx.Client]:
        return [httpx.Client(base_url=url, timeout=30) for url in (self.system.system.base_url, self.second.base_url)]


@pytest.fixture(scope="module")
def limited(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoApis]:
    logs: Path = tmp_path_factory.mktemp("logs")
    overrides = {
        "auth_enabled": True,
        "jwt_hs256_secret": SECRET,
        "rate_limits_per_app": f"{SMALL_APP}={SMALL_LIMIT}",
    }
    with running_system(stack_settings, logs, **overrides) as running:
        # A second API process of the same system: its own port, the same stores and the same Redis.
        second = start_system(replace(running.settings, api_port=free_port()), logs / "second", components=("api",))
        try:
            second.wait_ready()
            yield TwoApis(running, second)
        finally:
            second.stop()


def list_memories(client: httpx.Client, app_id: str, user_id: str) -> httpx.Response:
    params = {"app_id": app_id, "user_id": user_id, "limit": 1}
    return client.get("/v1/memories", params=params, headers=bearer(app_id, user_id))


def start_of_a_long_enough_window(client: httpx.Client, app_id: str, needed: float) -> None:
    """Return at once if the current window has ``needed`` seconds left, else once the next one has begun."""
    probe = list_memories(client, app_id, unique("probe-"))
    assert probe.status_code == 200, probe.text
    left = int(probe.headers["RateLimit-Reset"])
    if left < needed:
        time.sleep(left + 0.2)  # waiting for the clock's minute to turn, as read from the server's header


def test_the_1000th_request_passes_and_the_1001st_is_refused_by_both_processes(limited: TwoApis) -> None:
    app = limited.system.app_id
    clients = limited.clients()
    try:
        start_of_a_long_enough_window(clients[0], app, RUN_SECONDS)
        user = unique("rita-")  # a caller with no request yet: its count starts at zero
        resets = []
        for n in range(1, DEFAULT_LIMIT + 1):
            answer = list_memories(clients[n % 2], app, user)
            assert answer.status_code == 200, (n, answer.text)
            assert answer.headers["RateLimit-Limit"] == str(DEFAULT_LIMIT)
            # One count for both processes: each answer is one less than the one before, whoever gave it.
            assert answer.headers["RateLimit-Remaining"] == str(DEFAULT_LIMIT - n), n
            resets.append(int(answer.headers["RateLimit-Reset"]))
        assert resets == sorted(resets, reverse=True) and 0 < resets[-1] <= 60, "one window, counting down"

        refused = list_memories(clients[1], app, user)  # the 1,001st
        also_refused = list_memories(clients[0], app, user)
    finally:
        for client in clients:
            client.close()
    for answer in (refused, also_refused):
        assert answer.status_code == 429, answer.text
        assert answer.json()["status_code"] == 429 and "1000 requests per minute" in answer.json()["detail"]
        assert answer.headers["RateLimit-Remaining"] == "0"
        retry_after = int(answer.headers["Retry-After"])
        assert 1 <= retry_after <= 60 and retry_after == int(answer.headers["RateLimit-Reset"])


def test_liveness_and_docs_are_not_counted(limited: TwoApis) -> None:
    app, user = limited.system.app_id, unique("hugo-")
    with limited.system.client() as client:
        for _ in range(3):
            assert "RateLimit-Limit" not in client.get("/health").headers
            docs = client.get("/schema/openapi.json", headers=bearer(app, user))
            assert docs.status_code == 200 and "RateLimit-Limit" not in docs.headers
        # None of those spent anything: the caller's first counted request finds its whole budget.
        first = list_memories(client, app, user)
    assert first.headers["RateLimit-Remaining"] == str(DEFAULT_LIMIT - 1)


def test_an_apps_own_limit_replaces_the_default_for_its_callers(limited: TwoApis) -> None:
    clients = limited.clients()
    try:
        start_of_a_long_enough_window(clients[0], SMALL_APP, needed=5)
        user = unique("sam-")
        answers = [list_memories(clients[n % 2], SMALL_APP, user) for n in range(SMALL_LIMIT + 1)]
        other_app = list_memories(clients[0], limited.system.app_id, user)
    finally:
        for client in clients:
            client.close()
    assert [a.status_code for a in answers] == [200] * SMALL_LIMIT + [429], [a.text for a in answers]
    assert [a.headers["RateLimit-Limit"] for a in answers] == [str(SMALL_LIMIT)] * (SMALL_LIMIT + 1)
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
    assert "5 requests per minute" in answers[-1].json()["detail"]
    # The same user name in another app is another caller, on the default limit.
    assert other_app.status_code == 200 and other_app.headers["RateLimit-Limit"] == str(DEFAULT_LIMIT)


def test_a_keys_own_limit_wins_and_is_shared_by_both_processes(limited: TwoApis) -> None:
    """An API key issued with its own limit (``memstream keys create --rate-limit``): the key, not the app or
    the default, sets what its holder may spend, counted once across both API processes."""
    app = limited.system.app_id
    key = issue_key(limited.system.settings, app, scopes=(KeyScope.READ,), rate_limit=KEY_LIMIT, name="limited")
    clients = limited.clients()
    try:
        start_of_a_long_enough_window(clients[0], app, needed=5)
        params = {"user_id": unique("kim-"), "limit": 1}
        answers = [clients[n % 2].get("/v1/memories", params=params, headers=key_bearer(key)) for n in range(4)]
    finally:
        for client in clients:
            client.close()
    assert [a.status_code for a in answers] == [200] * KEY_LIMIT + [429], [a.text for a in answers]
    assert {a.headers["RateLimit-Limit"] for a in answers} == {str(KEY_LIMIT)}
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]


def test_an_unauthenticated_request_is_refused_before_it_is_counted(limited: TwoApis) -> None:
    with httpx.Client(base_url=limited.system.system.base_url, timeout=30) as client:
        refused = client.get("/v1/memories", params={"app_id": "a", "user_id": "u"})
    assert refused.status_code == 401
    assert "RateLimit-Limit" not in refused.headers
