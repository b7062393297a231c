"""One shared poll that follows every waiting read through the pipeline's stages (see api/consistency.py).

A waiter is a write's positions and the stage it has reached; each stage names, per consumer group, the
offset each partition's commit must reach. While anyone waits, one background task reads the committed
offsets of the groups the waiters need (one request per group, however many waiters) every
``POLL_SECONDS``, moves each waiter whose stage is reached on to the next and resolves it after the last.
Nothing here holds a thread: waiters await a future, the poller awaits Kafka's futures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from adapters.log_offsets import LogOffsets, Partition
from memory.contract.positions import LogPosition
from memory.settings import Settings
from projections.targets import STORES, group_id

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
# Agents that act on memory events the worker itself produced: each needs one more pass over the log's end.
DERIVED_STAGES = ("embedding", "lifecycle")
STAGES = ("extraction", *DERIVED_STAGES, "projections")

# Group → partition → the committed offset it must reach.
Wanted = dict[str, dict[Partition, int]]
TargetsReader = Callable[[], Awaitable[dict[str, str]]]


@dataclass(eq=False)  # identity: waiters live in a set
class Waiter:
    positions: list[LogPosition]
    done: asyncio.Future[None]
    stage: int = 0
    wanted: Wanted = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # group → what it is, for the timeout message
    lagging: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return " and ".join(self.lagging) if self.lagging else STAGES[self.stage]

    def behind(self, committed: dict[str, dict[Partition, int]]) -> list[str]:
        """The groups of the current stage whose commits have not reached the wanted offsets."""
        return [
            group
            for group, offsets in self.wanted.items()
            if any(committed.get(group, {}).get(p, -1) < offset for p, offset in offsets.items())
        ]


def _past(positions: list[LogPosition] | dict[Partition, int]) -> dict[Partition, int]:
    """The commit that means "read past these": offset + 1 for positions, the end itself for ends (an empty
    partition, end 0, asks for nothing)."""
    if isinstance(positions, dict):
        return {p: end for p, end in positions.items() if end > 0}
    return {(p.topic, p.partition): p.offset + 1 for p in positions}


class CatchUpPoller:
    def __init__(self, settings: Settings, offsets: LogOffsets, targets: TargetsReader):
        self._settings = settings
        self._offsets = offsets
        self._targets = targets
        self._waiters: set[Waiter] = set()
        self._task: asyncio.Task[None] | None = None

    def waiting(self) -> int:
        return len(self._waiters)

    async def wait(self, positions: list[LogPosition], timeout: float) -> str | None:
        """Until the pipeline has applied ``positions``; on timeout, what it was still waiting for."""
        waiter = Waiter(positions, asyncio.get_running_loop().create_future())
        self._enter_stage(waiter, 0, *self._worker_wanted(0, _past(positions)))
        self._waiters.add(waiter)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="consistency-catch-up-poller")
        try:
            await asyncio.wait_for(waiter.done, timeout)
        except TimeoutError:
            return waiter.describe()
        finally:
            self._waiters.discard(waiter)
        return None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            while self._waiters:
                try:
                    await self._tick()
                except Exception as exc:
                    # As when each read polled for itself: a Kafka failure fails the reads (503) at once.
                    log.warning("consistency poll failed: %r", exc)
                    for waiter in list(self._waiters):
                        if not waiter.done.done():
                            waiter.done.set_exception(exc)
                    self._waiters.clear()
                await asyncio.sleep(POLL_SECONDS)
        finally:
            self._task = None  # no await since the last emptiness check: a new waiter starts a new task

    async def _tick(self) -> None:
        waiters = [w for w in self._waiters if not w.done.done()]
        needed: dict[str, set[Partition]] = {}
        for waiter in waiters:
            for group, offsets in waiter.wanted.items():
                needed.setdefault(group, set()).update(offsets)
        groups = list(needed)
        answers = await asyncio.gather(*(self._offsets.committed(g, needed[g]) for g in groups))
        committed = dict(zip(groups, answers, strict=True))
        reached = []
        for waiter in waiters:
            waiter.lagging = [waiter.names.get(g, g) for g in waiter.behind(committed)]
            if not waiter.lagging:
                reached.append(waiter)
        if reached:
            await self._advance(reached)

    async def _advance(self, reached: list[Waiter]) -> None:
        last = len(STAGES) - 1
        for waiter in (w for w in reached if w.stage == last and not w.done.done()):
            waiter.done.set_result(None)
        moving = [w for w in reached if w.stage < last]
        if not moving:
            return
        # Read after the commits were seen: every memory event the reached stages caused is inside these ends.
        memory_ends = _past(await self._offsets.topic_ends([self._settings.topics.memories]))
        targets = await self._targets() if any(w.stage + 1 == last for w in moving) else {}
        for waiter in moving:
            if waiter.stage + 1 == last:
                self._enter_stage(waiter, last, *self._projection_wanted(waiter, memory_ends, targets))
            else:
                self._enter_stage(waiter, waiter.stage + 1, *self._worker_wanted(waiter.stage + 1, memory_ends))

    @staticmethod
    def _enter_stage(waiter: Waiter, stage: int, wanted: Wanted, names: dict[str, str]) -> None:
        # A stage with nothing to pass (an empty memory log) is reached at the next poll.
        waiter.stage, waiter.names, waiter.lagging = stage, names, []
        waiter.wanted = {group: offsets for group, offsets in wanted.items() if offsets}

    def _worker_wanted(self, stage: int, offsets: dict[Partition, int]) -> tuple[Wanted, dict[str, str]]:
        worker = self._settings.faust_app_id
        return {worker: offsets}, {worker: STAGES[stage]}

    def _projection_wanted(
        self, waiter: Waiter, memory_ends: dict[Partition, int], targets: dict[str, str]
    ) -> tuple[Wanted, dict[str, str]]:
        """Every projector of the targets serving reads past the memory log's end, PostgreSQL past the turns."""
        wanted: Wanted = {}
        names: dict[str, str] = {}
        for store in STORES:
            group = group_id(self._settings, store, targets[store])
            wanted[group] = dict(memory_ends)
            names[group] = f"the {store} projection"
        turns = [p for p in waiter.positions if p.topic == self._settings.topics.turns]
        if turns:
            postgres = group_id(self._settings, "postgres", targets["postgres"])
            wanted[postgres] = {**wanted[postgres], **_past(turns)}
            names[postgres] = "the postgres projection (with the conversation log)"
        return wanted, names
