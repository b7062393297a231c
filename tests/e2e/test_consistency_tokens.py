"""Consistency tokens through the running system: only tokens the API signed, for positions on its log, make a
read wait; anything else is a 400 at once. Waiting reads hold no thread: fifty of them leave searches and
writes as fast as without."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.token_key import token_key
from memory.contract.positions import LogPosition, encode_token
from memory.settings import Settings
from tests.e2e.conftest import RunningSystem, running_system
from tests.support import unique

pytestmark = pytest.mark.e2e

# Long enough that fifty reads held back on purpose still catch up after the worker resumes on a busy machine;
# every refusal below must come back in a small fraction of it.
TIMEOUT_SECONDS = 30.0
AT_ONCE_SECONDS = 1.0
WAITERS = 50
SAMPLES = 7


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    logs = tmp_path_factory.mktemp("logs")
    with running_system(stack_settings, logs, consistency_timeout_seconds=TIMEOUT_SECONDS) as running:
        yield running


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signed(system: RunningSystem, *positions: LogPosition) -> str:
    """A token as the API would issue it: the tests share the API's key (the same data dir)."""
    return encode_token(list(positions), token_key(system.settings))


def timed_search(client: httpx.Client, system: RunningSystem, token: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post(
        "/v1/memories/search",
        json={"query": "anything", "user_id": unique("u-"), "app_id": system.app_id, "consistency_token": token},
    )
    return response, time.monotonic() - started


def assert_refused_at_once(system: RunningSystem, token: str, why: str) -> None:
    with system.client() as client:
        response, elapsed = timed_search(client, system, token)
        assert response.status_code == 400, response.text
        assert why in response.json()["detail"], response.text
        assert elapsed < AT_ONCE_SECONDS, f"{elapsed:.2f}s for a refusal (timeout {TIMEOUT_SECONDS}s)"
        listed = client.get(
            "/v1/memories", params={"user_id": "u", "app_id": system.app_id, "consistency_token": token}
        )
        assert listed.status_code == 400, listed.text


def test_forged_tokens_are_refused_at_once(system: RunningSystem) -> None:
    turns = system.settings.topics.turns
    payload = json.dumps({f"{turns}:0": 1e12}).encode()
    old_format = b64(payload)  # what the tester sent: the unsigned format of before
    made_up_signature = f"mst1.{b64(payload)}.{b64(os.urandom(32))}"
    other_key = encode_token([LogPosition(turns, 0, 0)], b"a key that is not the API's")
    assert_refused_at_once(system, old_format, "unknown consistency token format")
    assert_refused_at_once(system, made_up_signature, "signature")
    assert_refused_at_once(system, other_key, "signature")


def test_eight_forged_tokens_at_once_are_all_refused_at_once(system: RunningSystem) -> None:
    forged = b64(json.dumps({f"{system.settings.topics.turns}:0": 1e12}).encode())

    async def fire() -> list[tuple[int, float]]:
        async with system.async_client(timeout=60) as client:

            async def one() -> tuple[int, float]:
                started = time.monotonic()
                body = {"query": "x", "user_id": "u", "app_id": system.app_id, "consistency_token": forged}
                response = await client.post("/v1/memories/search", json=body)
                return response.status_code, time.monotonic() - started

            return await asyncio.gather(*(one() for _ in range(8)))

    answers = asyncio.run(fire())
    assert {status for status, _ in answers} == {400}
    assert max(elapsed for _, elapsed in answers) < AT_ONCE_SECONDS, answers


def test_a_signed_token_naming_a_topic_the_api_does_not_write_is_refused(system: RunningSystem) -> None:
    assert_refused_at_once(system, signed(system, LogPosition("memstream.elsewhere.v1", 0, 0)), "does not write")
    # The memory log exists, but no write of the API lands there.
    assert_refused_at_once(system, signed(system, LogPosition(system.settings.topics.memories, 0, 0)), "does not write")


def test_a_signed_token_beyond_the_log_is_refused(system: RunningSystem) -> None:
    turns, commands = system.settings.topics.turns, system.settings.topics.commands
    assert_refused_at_once(system, signed(system, LogPosition(turns, 0, 10**12)), "beyond the end of the log")
    assert_refused_at_once(system, signed(system, LogPosition(commands, 1, 5)), "beyond the end of the log")
    assert_refused_at_once(system, signed(system, LogPosition(turns, 99, 0)), "partition that does not exist")


def add(client: httpx.Client, system: RunningSystem, user: str, text: str) -> str:
    response = client.post("/v1/memories", json={"user_id": user, "app_id": system.app_id, "text": text})
    assert response.status_code == 202, response.text
    token: str = response.json()["consistency_token"]
    return token


def search(client: httpx.Client, system: RunningSystem, user: str, query: str, **extra: Any) -> httpx.Response:
    body = {"query": query, "user_id": user, "app_id": system.app_id, "use_cache": False, **extra}
    return client.post("/v1/memories/search", json=body)


def test_a_real_token_makes_the_read_wait_until_the_memory_is_visible(system: RunningSystem) -> None:
    user = unique("u-")
    with system.client() as client:
        token = add(client, system, user, "My favourite board game is Carcassonne.")
        assert token.startswith("mst1.")
        response = search(client, system, user, "board game", consistency_token=token)
        assert response.status_code == 200, response.text
        assert any("Carcassonne" in hit["memory"] for hit in response.json()["results"]), response.text


def latencies(client: httpx.Client, system: RunningSystem, user: str) -> tuple[list[float], list[float]]:
    """Search and add latencies of one user who is nobody's waiter."""
    searches, adds = [], []
    for i in range(SAMPLES):
        started = time.monotonic()
        response = search(client, system, user, "which instrument do I play")
        searches.append(time.monotonic() - started)
        assert response.status_code == 200 and response.json()["results"], response.text
        started = time.monotonic()
        add(client, system, unique("bystander-"), f"I water the garden on day {i}.")
        adds.append(time.monotonic() - started)
    return searches, adds


def test_fifty_waiting_reads_leave_other_requests_fast(system: RunningSystem) -> None:
    """Fifty reads wait on real tokens of writes the worker cannot process (it is stopped with SIGSTOP, so the
    positions exist on the log but no consumer group has passed them); meanwhile an unrelated search and add
    are timed and compared with the same requests before. Then the worker resumes and every waiter answers
    with its own memory: they were waiting, not refused."""
    bystander = unique("u-")
    worker = system.system.procs["streams"]
    with system.client() as client:
        token = add(client, system, bystander, "I play the cello in an amateur orchestra.")
        assert search(client, system, bystander, "cello", consistency_token=token).status_code == 200
        search_before, add_before = latencies(client, system, bystander)

        async def held_back() -> tuple[list[float], list[float], list[httpx.Response], float]:
            async with system.async_client(timeout=TIMEOUT_SECONDS + 30) as aclient:
                users = [unique("waiter-") for _ in range(WAITERS)]
                writes = await asyncio.gather(
                    *(
                        aclient.post(
                            "/v1/memories",
                            json={
                                "user_id": u,
                                "app_id": system.app_id,
                                "text": f"My favourite board game is Carcassonne edition {n}00{n}.",
                            },
                        )
                        for n, u in enumerate(users)
                    )
                )
                tokens = [w.json()["consistency_token"] for w in writes]
                reads = [
                    asyncio.create_task(
                        aclient.post(
                            "/v1/memories/search",
                            json={"query": "board game", "user_id": u, "app_id": system.app_id, "consistency_token": t},
                        )
                    )
                    for u, t in zip(users, tokens, strict=True)
                ]
                await asyncio.sleep(1.0)  # every read is in the API, waiting
                # The timed requests go through the blocking client on a thread: the event loop keeps serving
                # the fifty waiting connections meanwhile, as a separate client would.
                search_during, add_during = await asyncio.to_thread(latencies, client, system, bystander)
                assert not any(r.done() for r in reads), "a waiter answered before its write could be processed"
                resumed_at = time.monotonic()
                worker.send_signal(signal.SIGCONT)
                answers = await asyncio.gather(*reads)
                return search_during, add_during, answers, time.monotonic() - resumed_at

        worker.send_signal(signal.SIGSTOP)
        try:
            search_during, add_during, answers, caught_up_after = asyncio.run(held_back())
        finally:
            worker.send_signal(signal.SIGCONT)
    p50 = statistics.median
    print(
        f"\n{WAITERS} waiting reads: search p50 {p50(search_before) * 1000:.0f} ms without, "
        f"{p50(search_during) * 1000:.0f} ms with (max {max(search_during) * 1000:.0f} ms); "
        f"add p50 {p50(add_before) * 1000:.0f} ms without, {p50(add_during) * 1000:.0f} ms with; "
        f"all {WAITERS} waiters answered {caught_up_after:.1f}s after the worker resumed"
    )
    for n, answer in enumerate(answers):
        assert answer.status_code == 200, answer.text
        assert any(f"{n}00{n}" in hit["memory"] for hit in answer.json()["results"]), answer.text
    assert p50(search_during) < 1.0
    assert p50(add_during) < 1.0
    # Against the same requests without waiters: at most a small constant more (the shared poll's work).
    assert p50(search_during) < 3 * p50(search_before) + 0.25
    assert p50(add_during) < 3 * p50(add_before) + 0.25
