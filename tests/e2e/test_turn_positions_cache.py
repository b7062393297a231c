"""Turn positions kept per cache epoch (api.turn_positions) are the SQL window's, before and after a new turn.

A conversation is said through the API and run through the whole pipeline; a search makes the API process keep
the user's turn positions in the hot cache. The test reads that entry back (the API's own key) and compares it
with the window over PostgreSQL (``api.reader.TURN_POSITIONS``, what every search ran before). Then a turn said
between the two sessions arrives: the projectors move the user's epoch, so the old entry is unreachable, the next
search numbers the turns again (the later session one further on), and rankings from the cached positions are the
ones a fresh read gives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from api.cache import SearchCache
from api.reader import MemoryReader
from api.turn_positions import Positions, TurnPositions
from projections.cache_epochs import CacheEpochs
from projections.targets import active_targets
from tests.e2e.conftest import RunningSystem
from tests.support import unique, wait_until

FIRST = ("2026-04-20T18:00:00Z", ["I adopted a dog named Max.", "Max is a beagle.", "He loves the beach."])
LATER = ("2026-05-04T18:00:00Z", ["Max chewed my pottery.", "Nora visited us in Porto."])
BETWEEN = ("2026-04-27T18:00:00Z", ["We went hiking with Max in the Alps."])
QUESTIONS = ["What is my dog's name?", "Where did we go hiking?", "Who visited us?", "beach"]


SMALL_TALK = ("2026-04-24T18:00:00Z", ["Sounds good."])  # said by the assistant: the extractor keeps no memory


def say(
    client: httpx.Client, system: RunningSystem, user: str, session: tuple[str, list[str]], role: str = "user"
) -> str:
    when, texts = session
    infer = role != "user"  # verbatim for the user's turns (one memory each); the extractor for small talk
    response = client.post(
        "/v1/memories",
        json={
            "user_id": user,
            "app_id": system.app_id,
            "conversation_id": "chat",
            "occurred_at": when,
            "infer": infer,
            "messages": [{"role": role, "name": role, "content": text} for text in texts],
        },
    )
    assert response.status_code == 202, response.text
    token: str = response.json()["consistency_token"]
    return token


def projected(client: httpx.Client, system: RunningSystem, user: str, token: str, count: int) -> None:
    def seen() -> bool:
        params: dict[str, Any] = {"user_id": user, "app_id": system.app_id, "consistency_token": token}
        response = client.get("/v1/memories", params={**params, "state": ["active"], "limit": 100})
        return response.status_code == 200 and response.json()["total"] == count

    wait_until(seen, timeout=120, what=f"{count} active memories of {user}")


def ranking(client: httpx.Client, system: RunningSystem, user: str, query: str) -> list[tuple[str, float]]:
    body = {"user_id": user, "app_id": system.app_id, "query": query, "reference_time": "2026-05-06T12:00:00Z"}
    response = client.post("/v1/memories/search", json={**body, "use_cache": False})
    assert response.status_code == 200, response.text
    return [(hit["memory"], hit["score"]) for hit in response.json()["results"]]


@pytest.fixture
async def kept(system: RunningSystem) -> AsyncIterator[tuple[TurnPositions, MemoryReader, SearchCache]]:
    """The API process's positions cache, read from this process: same Redis keys, same PostgreSQL target."""
    settings = system.settings
    pool = AsyncConnectionPool(settings.postgres_dsn, min_size=1, max_size=2, open=False)
    await pool.open(wait=True)
    cache = SearchCache(Redis.from_url(settings.redis_url), settings.redis_prefix)
    reader = MemoryReader(pool)
    try:
        yield TurnPositions(reader, cache, active_targets(settings.postgres_dsn)["postgres"]), reader, cache
    finally:
        await cache.close()
        await pool.close()


async def window(reader: MemoryReader, app_id: str, user: str) -> tuple[Positions, dict[str, str]]:
    """The SQL window over every memory of the user (what searches read before the cache), and each turn's text."""
    async with reader.pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "SELECT memory_id, source_turn_ids[1], text FROM memories WHERE app_id = %s AND user_id = %s",
            (app_id, user),
        )
        rows = await cur.fetchall()
    positions = await reader.turn_positions([str(r[0]) for r in rows], app_id, user)
    return positions, {str(r[1]): str(r[2]) for r in rows}


def in_order(positions: Positions, texts: dict[str, str]) -> list[str]:
    assert {conversation for conversation, _ in positions} == {"chat"}
    return [texts[turn] for (_, turn), _ in sorted(positions.items(), key=lambda kv: kv[1])]


async def test_kept_positions_equal_the_sql_window_and_move_with_a_new_turn(
    system: RunningSystem, kept: tuple[TurnPositions, MemoryReader, SearchCache]
) -> None:
    positions, reader, cache = kept
    user, app_id = unique("positions-"), system.app_id
    scope_key = f"{app_id}/{user}"
    with system.client() as client:
        for session in (FIRST, LATER):
            token = say(client, system, user, session)
        projected(client, system, user, token, count=5)
        assert await positions.cached(app_id, user, scope_key) is None  # nothing searched yet

        async def searched_and_kept() -> Positions | None:
            ranking(client, system, user, QUESTIONS[0])  # a search keeps them (and the epoch may still settle)
            return await positions.cached(app_id, user, scope_key)

        before = await wait_async(searched_and_kept, "the API to keep the positions")
        sql, texts = await window(reader, app_id, user)
        assert before == sql
        assert in_order(before, texts) == [*FIRST[1], *LATER[1]]
        old_epoch = await cache.epoch(scope_key)

        # A turn said between the sessions: the later session's turns move one place on.
        projected(client, system, user, say(client, system, user, BETWEEN), count=6)
        assert await cache.epoch(scope_key) != old_epoch
        assert await positions.cached(app_id, user, scope_key) is None  # the old entry is unreachable
        after = await wait_async(searched_and_kept, "the new positions kept")
        sql, texts = await window(reader, app_id, user)
        assert after == sql
        assert in_order(after, texts) == [*FIRST[1], *BETWEEN[1], *LATER[1]]

        # Small talk that made no memory still takes a place in the conversation log: the epoch moves with the turn
        # alone, and the kept numbering counts it (the sessions after it one further on).
        epoch = await cache.epoch(scope_key)
        projected(client, system, user, say(client, system, user, SMALL_TALK, role="assistant"), count=6)
        await wait_async(lambda: changed_epoch(cache, scope_key, epoch), "the turn to move the epoch")
        assert await positions.cached(app_id, user, scope_key) is None
        with_small_talk = await wait_async(searched_and_kept, "the positions with the small talk kept")
        sql, texts = await window(reader, app_id, user)
        assert with_small_talk == sql and len(sql) == len(after) + 1
        assert [turn for turn in sorted(sql, key=sql.__getitem__) if turn[1] not in texts] == [
            turn for turn in sql if sql[turn] == len(FIRST[1])
        ]  # the one turn without a memory sits right after the first session

        # Rankings: each question searched with the positions read from PostgreSQL (a writer's empty commit moves
        # the epoch, so nothing is kept), then again from the kept positions.
        epochs = CacheEpochs(SyncRedis.from_url(system.settings.redis_url), system.settings.redis_prefix, "test")
        for question in QUESTIONS:
            epochs.finish(epochs.begin([scope_key]))
            assert await positions.cached(app_id, user, scope_key) is None
            from_sql = ranking(client, system, user, question)
            assert await positions.cached(app_id, user, scope_key) == sql
            assert from_sql and ranking(client, system, user, question) == from_sql, question


async def wait_async(check: Any, what: str, timeout: float = 60.0) -> Any:
    """``tests.support.wait_until`` for a coroutine function (the cache and the pool here are async)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


async def changed_epoch(cache: SearchCache, scope_key: str, before: str | None) -> bool:
    now = await cache.epoch(scope_key)
    return now is not None and now != before
