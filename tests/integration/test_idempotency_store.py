"""The idempotency key table on the real PostgreSQL: one reservation wins a race between two connections,
the first answer is replayed, a different request is refused, a released key runs again, a lapsed lease is
taken over, and expired keys start afresh and are purged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import psycopg
import pytest

from api.idempotency.store import IdempotencyStore, InFlight, Mismatch, Replay, Reserved, fingerprint
from memory.settings import Settings
from tests.support import unique

pytestmark = pytest.mark.integration

REQUEST = fingerprint("POST", "/v1/memories", b"", b'{"text": "I keep bees."}')
OTHER = fingerprint("POST", "/v1/memories", b"", b'{"text": "I keep wasps."}')


async def opened(settings: Settings, **options: object) -> IdempotencyStore:
    store = IdempotencyStore(settings.postgres_dsn, **options)  # type: ignore[arg-type]
    await store.open()
    return store


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[IdempotencyStore]:
    store = await opened(settings)
    yield store
    await store.close()


async def test_two_connections_racing_for_one_key_reserve_it_once(settings: Settings) -> None:
    # Two stores, two pools: as two API processes would hold them.
    first, second = await opened(settings), await opened(settings)
    try:
        for _ in range(20):
            owner, key = unique("key:"), unique("k-")
            outcomes = await asyncio.gather(first.reserve(owner, key, REQUEST), second.reserve(owner, key, REQUEST))
            assert sorted(type(o).__name__ for o in outcomes) == ["InFlight", "Reserved"], outcomes
    finally:
        await first.close()
        await second.close()


async def test_the_first_answer_is_replayed_and_a_different_request_refused(store: IdempotencyStore) -> None:
    owner, key = unique("key:"), unique("k-")
    held = await store.reserve(owner, key, REQUEST)
    assert isinstance(held, Reserved)
    assert isinstance(await store.reserve(owner, key, REQUEST), InFlight)
    assert isinstance(await store.reserve(owner, key, OTHER), Mismatch)
    headers = [("content-type", "application/json"), ("content-length", "13")]
    assert await store.complete(owner, key, held.attempt, 202, headers, b'{"status":"a"}')
    replay = await store.reserve(owner, key, REQUEST)
    assert replay == Replay(202, headers, b'{"status":"a"}')
    assert isinstance(await store.reserve(owner, key, OTHER), Mismatch)
    # The same key of another owner (another credential) is another key.
    assert isinstance(await store.reserve(unique("key:"), key, OTHER), Reserved)


async def test_a_released_key_runs_again(store: IdempotencyStore) -> None:
    owner, key = unique("key:"), unique("k-")
    held = await store.reserve(owner, key, REQUEST)
    assert isinstance(held, Reserved)
    await store.release(owner, key, held.attempt)
    again = await store.reserve(owner, key, OTHER)  # forgotten entirely: even another request may use it
    assert isinstance(again, Reserved) and again.attempt != held.attempt


async def test_a_lapsed_lease_is_taken_over_and_the_old_attempt_cannot_answer(settings: Settings) -> None:
    store = await opened(settings, lease=timedelta(milliseconds=200))
    try:
        owner, key = unique("key:"), unique("k-")
        stale = await store.reserve(owner, key, REQUEST)
        assert isinstance(stale, Reserved)
        deadline = asyncio.get_running_loop().time() + 30
        while isinstance(outcome := await store.reserve(owner, key, REQUEST), InFlight):
            assert asyncio.get_running_loop().time() < deadline, "the lease never lapsed"
            await asyncio.sleep(0.05)
        assert isinstance(outcome, Reserved) and outcome.attempt != stale.attempt
        assert not await store.complete(owner, key, stale.attempt, 202, [], b"late")  # no longer its key
        await store.release(owner, key, stale.attempt)  # nor can it release the new holder's reservation
        assert await store.complete(owner, key, outcome.attempt, 201, [], b"new")
        assert await store.reserve(owner, key, REQUEST) == Replay(201, [], b"new")
    finally:
        await store.close()


async def test_an_expired_key_starts_afresh_and_expired_rows_are_purged(settings: Settings) -> None:
    store = await opened(settings, remembered=timedelta(seconds=1), purge_every=0.0)
    try:
        owner, key, idle = unique("key:"), unique("k-"), unique("idle-")
        held = await store.reserve(owner, key, REQUEST)
        idle_held = await store.reserve(owner, idle, REQUEST)
        assert isinstance(held, Reserved) and isinstance(idle_held, Reserved)
        assert await store.complete(owner, key, held.attempt, 202, [], b"first")
        assert await store.complete(owner, idle, idle_held.attempt, 202, [], b"idle")

        def stored_keys() -> set[str]:
            with psycopg.connect(settings.postgres_dsn) as conn:
                rows = conn.execute("SELECT idempotency_key FROM idempotency_keys WHERE owner = %s", (owner,))
                return {row[0] for row in rows}

        assert stored_keys() == {key, idle}
        deadline = asyncio.get_running_loop().time() + 30
        while isinstance(outcome := await store.reserve(owner, key, OTHER), Mismatch):
            assert asyncio.get_running_loop().time() < deadline, "the key was never forgotten"
            await asyncio.sleep(0.2)
        assert isinstance(outcome, Reserved), outcome  # expired: a new request may use the key
        # The idle key nobody asked for again was purged by that reservation's lazy purge.
        assert stored_keys() == {key}
    finally:
        await store.close()
