"""The shared poll behind read-your-writes (api.catch_up), against a scripted log: the stages in order, one
request per group per poll however many reads wait, timeouts that name what lags, Kafka failures that fail
the reads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from adapters.log_offsets import LogOffsets, Partition
from api.catch_up import CatchUpPoller
from memory.contract.positions import LogPosition
from memory.settings import Settings
from projections.targets import LIVE, STORES, group_id

SETTINGS = Settings()
TURNS, MEMORIES = SETTINGS.topics.turns, SETTINGS.topics.memories
WORKER = SETTINGS.faust_app_id
PROJECTORS = [group_id(SETTINGS, store, LIVE) for store in STORES]


class ScriptedLog(LogOffsets):
    """Committed offsets and memory-log ends the test sets; counts the requests the poller makes."""

    def __init__(self) -> None:
        self.commits: dict[str, dict[Partition, int]] = {}
        self.memory_end = 0
        self.committed_calls = 0
        self.failure: Exception | None = None

    async def committed(self, group: str, partitions: Iterable[Partition]) -> dict[Partition, int]:
        self.committed_calls += 1
        if self.failure:
            raise self.failure
        known = self.commits.get(group, {})
        return {p: known[p] for p in partitions if p in known}

    async def topic_ends(self, topics: Iterable[str]) -> dict[Partition, int]:
        assert list(topics) == [MEMORIES]
        return {(MEMORIES, 0): self.memory_end}

    def commit(self, group: str, topic: str, offset: int) -> None:
        self.commits.setdefault(group, {})[(topic, 0)] = offset


async def live_targets() -> dict[str, str]:
    return dict.fromkeys(STORES, LIVE)


async def until(condition: object, seconds: float = 2.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_a_read_waits_for_every_stage_in_order() -> None:
    log = ScriptedLog()
    poller = CatchUpPoller(SETTINGS, log, live_targets)
    waiting = asyncio.create_task(poller.wait([LogPosition(TURNS, 0, 4)], timeout=5))
    await asyncio.sleep(0.2)
    log.memory_end = 7  # what extraction produced
    log.commit(WORKER, TURNS, 5)  # extraction passed the turn
    await asyncio.sleep(0.2)
    log.memory_end = 9  # the embedding agent's vectors
    log.commit(WORKER, MEMORIES, 7)
    await asyncio.sleep(0.2)
    log.memory_end = 10  # the lifecycle agent's activation
    log.commit(WORKER, MEMORIES, 9)
    await asyncio.sleep(0.2)
    for group in PROJECTORS:
        log.commit(group, MEMORIES, 10)
    await asyncio.sleep(0.2)
    assert not waiting.done(), "the conversation log (the turn in the PostgreSQL projector) is still missing"
    log.commit(PROJECTORS[0], TURNS, 5)
    assert await asyncio.wait_for(waiting, 2) is None
    await until(lambda: poller.waiting() == 0)


async def test_many_reads_share_one_poll() -> None:
    log = ScriptedLog()
    poller = CatchUpPoller(SETTINGS, log, live_targets)
    waiters = [asyncio.create_task(poller.wait([LogPosition(TURNS, 0, i)], timeout=5)) for i in range(50)]
    await asyncio.sleep(0.5)
    assert poller.waiting() == 50
    # About one request per 50 ms poll for the worker group alone, not one per read.
    assert log.committed_calls <= 15
    log.commit(WORKER, TURNS, 50)
    for group in PROJECTORS:
        log.commit(group, TURNS, 50)
    assert await asyncio.gather(*waiters) == [None] * 50


async def test_a_timeout_names_what_lags() -> None:
    log = ScriptedLog()
    log.memory_end = 3
    poller = CatchUpPoller(SETTINGS, log, live_targets)
    log.commit(WORKER, TURNS, 1)
    log.commit(WORKER, MEMORIES, 3)
    for group in PROJECTORS[:3]:
        log.commit(group, MEMORIES, 3)
        log.commit(group, TURNS, 1)
    lagging = await poller.wait([LogPosition(TURNS, 0, 0)], timeout=1)
    assert lagging == f"the {STORES[3]} projection"
    await until(lambda: poller.waiting() == 0)


async def test_a_kafka_failure_fails_the_waiting_reads() -> None:
    log = ScriptedLog()
    poller = CatchUpPoller(SETTINGS, log, live_targets)
    waiting = asyncio.create_task(poller.wait([LogPosition(TURNS, 0, 0)], timeout=5))
    await asyncio.sleep(0.1)
    log.failure = RuntimeError("broker gone")
    with pytest.raises(RuntimeError, match="broker gone"):
        await waiting
    await poller.close()


async def test_the_poll_stops_when_nobody_waits_and_restarts_for_the_next_read() -> None:
    log = ScriptedLog()
    poller = CatchUpPoller(SETTINGS, log, live_targets)
    assert await poller.wait([LogPosition(TURNS, 0, 0)], timeout=0.2) == "extraction"
    await asyncio.sleep(0.2)
    calls = log.committed_calls
    await asyncio.sleep(0.2)
    assert log.committed_calls == calls  # idle: no polling
    log.commit(WORKER, TURNS, 1)
    for group in PROJECTORS:
        log.commit(group, TURNS, 1)
    assert await poller.wait([LogPosition(TURNS, 0, 0)], timeout=2) is None
