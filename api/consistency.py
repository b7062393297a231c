"""Read your writes: a read that carries a write's consistency token waits until the pipeline has applied it.

The token holds the turn- (or command-) topic positions of the write. The read waits, bounded by
``consistency_timeout_seconds``, for these in order, each from committed consumer-group offsets:
1. the Faust worker has passed those positions (extracted the turns, decided the commands), so the memory
   events they cause are on the log;
2. the worker has passed the memory log's end, twice: once for the embedding agent (vectors), once more
   for the lifecycle agent's decision on each vector (activate, or reinforce the memory it repeats);
3. every projector (of the targets serving reads) has applied the memory log up to its end after step 2,
   and the PostgreSQL projector the turns themselves.

Before any waiting a token must be one this API signed (memory.contract.positions) and name positions that exist:
a topic the API writes, a partition of it, an offset below that partition's end. Anything else is a 400 at
once, so a made-up token can never make a read wait. The waiting itself holds no thread: every read waits on
one shared poll (api.catch_up).
"""

from __future__ import annotations

import asyncio
import time

from adapters.log_offsets import CachedEnds, LogOffsets
from api.catch_up import CatchUpPoller
from memory.contract.positions import InvalidTokenError, LogPosition, decode_token
from memory.settings import Settings
from projections.targets import active_targets

# How long the end offsets of the written topics may be reused to check a token (a token past them forces a
# fresh read before it is refused: a just-issued token is always below the end).
ENDS_TTL_SECONDS = 1.0
TARGETS_TTL_SECONDS = 1.0


class NotCaughtUp(TimeoutError):
    pass


class ConsistencyWaiter:
    def __init__(self, settings: Settings, key: bytes):
        self._settings = settings
        self._key = key
        self._written_topics = (settings.topics.turns, settings.topics.commands)
        offsets = LogOffsets(settings)
        self._ends = CachedEnds(offsets, self._written_topics, ENDS_TTL_SECONDS)
        self._poller = CatchUpPoller(settings, offsets, self._active_targets)
        self._targets: dict[str, str] = {}
        self._targets_read_at = float("-inf")

    async def wait(self, token: str) -> None:
        """Return once the write behind ``token`` is visible to reads; ``InvalidTokenError`` → 400 upstream,
        ``NotCaughtUp`` → 503."""
        asked_at = time.monotonic()
        timeout = self._settings.consistency_timeout_seconds
        positions = decode_token(token, self._key)
        try:
            async with asyncio.timeout(timeout):
                await self._check_against_log(positions, asked_at)
        except TimeoutError as exc:
            raise NotCaughtUp("the log's end offsets could not be read within the timeout") from exc
        lagging = await self._poller.wait(positions, timeout - (time.monotonic() - asked_at))
        if lagging is not None:
            raise NotCaughtUp(f"{lagging} did not catch up with the write within the timeout")

    async def wait_for_commands(self) -> None:
        """Return once every command produced before this call is applied (the end of the commands topic, as
        read now). For a write that must check against the latest state without a token from the caller: a
        core memory block edit whose precheck refused may only have read a projection behind an earlier edit."""
        asked_at = time.monotonic()
        timeout = self._settings.consistency_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                ends = await self._ends.read(started_after=asked_at)
        except TimeoutError as exc:
            raise NotCaughtUp("the log's end offsets could not be read within the timeout") from exc
        commands = self._settings.topics.commands
        positions = [LogPosition(t, p, end - 1) for (t, p), end in ends.items() if t == commands and end > 0]
        if not positions:
            return
        lagging = await self._poller.wait(positions, timeout - (time.monotonic() - asked_at))
        if lagging is not None:
            raise NotCaughtUp(f"{lagging} did not catch up with the earlier commands within the timeout")

    async def close(self) -> None:
        await self._poller.close()

    async def _check_against_log(self, positions: list[LogPosition], asked_at: float) -> None:
        for p in positions:
            if p.topic not in self._written_topics:
                raise InvalidTokenError(f"consistency token names topic {p.topic!r}, which this API does not write")
        ends = await self._ends.read()
        if any(self._problem(p, ends) for p in positions):
            ends = await self._ends.read(started_after=asked_at)  # the cache may predate the write: look again
        for p in positions:
            problem = self._problem(p, ends)
            if problem:
                raise InvalidTokenError(f"consistency token position {p.topic}:{p.partition}@{p.offset} {problem}")

    @staticmethod
    def _problem(position: LogPosition, ends: dict[tuple[str, int], int]) -> str | None:
        end = ends.get((position.topic, position.partition))
        if end is None:
            return "names a partition that does not exist"
        if position.offset >= end:
            return f"is beyond the end of the log ({end}): no write of this system is there"
        return None

    async def _active_targets(self) -> dict[str, str]:
        # Read by the poller when a waiter reaches the projections; one short thread, at most once a second.
        if time.monotonic() - self._targets_read_at > TARGETS_TTL_SECONDS:
            self._targets = await asyncio.to_thread(active_targets, self._settings.postgres_dsn)
            self._targets_read_at = time.monotonic()
        return self._targets
