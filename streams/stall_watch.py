"""Re-reading a partition whose commits wait on an event that was dropped or failed.

With ``streams.offsets``, a partition's commit never moves past an event that was not acknowledged and settled;
an event that was dropped around a rebalance (never handed to its agent) or whose batch failed
(``streams.settlement``) then holds its partition back for good. ``StallWatch`` notices: the committed offset
has not moved for ``DROPPED_SECONDS`` (``STALL_SECONDS`` while an agent still holds the event) although later
offsets were finished, or an agent's batch there failed; or, with nothing later finished, for ``STALL_SECONDS``
while the consumer has fetched past it (the last events of a partition, skipped in a rebalance, have no later
event to show the hole). The partition is then read again from its committed offset (a new group's: its first),
which delivers the event (with the few after it, which every consumer downstream applies idempotently).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import TP

from streams.offsets import ContiguousCommitConsumer, settlement_of

# A hole whose event no agent holds (Faust tracks every message it hands over until it is acknowledged) is
# re-read after DROPPED_SECONDS; one whose event is still held, only after STALL_SECONDS, longer than any
# agent takes over one event (an LLM extraction has a 30 s timeout). Re-reading an event that was merely
# slow would only repeat idempotent work.
DROPPED_SECONDS = 10.0
STALL_SECONDS = 45.0
CHECK_EVERY = 5.0
IDLE_SECONDS = 20.0  # no event of a partition finished for this long: its agents are not working on it


@dataclass
class StallWatch:
    """Which partitions wait on an event that was never handled, and since when."""

    stall_seconds: float = STALL_SECONDS
    dropped_seconds: float = DROPPED_SECONDS
    _waiting: dict[TP, tuple[int, float]] = field(default_factory=dict)
    _behind: dict[TP, tuple[int, float]] = field(default_factory=dict)

    def behind_for(self, tp: TP, committed: int, now: float) -> float:
        """How long ``tp``'s commit has stayed at ``committed`` (as last seen; restarted when it moves)."""
        offset, since = self._behind.get(tp, (committed, now))
        if offset != committed:
            offset, since = committed, now
        self._behind[tp] = (offset, since)
        return now - since

    def stalled(
        self,
        tp: TP,
        committed: int,
        acked: list[int],
        now: float,
        held: bool = True,
        failed: bool = False,
        fetched: bool = False,
    ) -> bool:
        """True once ``tp`` has waited at the same committed offset, with later offsets finished or an agent's
        batch there failed (``failed``) or, with nothing later finished, the consumer fetched past it and the
        agents idle there (``fetched``: the last events of a partition, skipped in a rebalance, have no later
        event to show the hole), for ``dropped_seconds`` if no agent holds the event there (``held``), else
        ``stall_seconds``. Then the clock starts again, so a partition is re-read at most once per period."""
        hole = bool(acked) and min(acked) > committed
        if not (failed or hole or fetched):
            self._waiting.pop(tp, None)
            return False
        offset, since = self._waiting.setdefault(tp, (committed, now))
        if offset != committed:
            self._waiting[tp] = (committed, now)
            return False
        patience = self.stall_seconds if held else self.dropped_seconds
        if now - since < patience:
            return False
        self._waiting[tp] = (committed, now)
        return True


def watch_for_stalls(app: faust.App, watch: StallWatch | None = None) -> None:
    """Every CHECK_EVERY seconds, re-read the partitions whose commits wait on a dropped or failed event."""
    watching = watch or StallWatch()

    @app.on_partitions_revoked.connect
    async def _revoked(*args: Any, **__: Any) -> None:
        settlement_of(app).forget(args[1])  # (sender, revoked): the next owner reads them from the committed offset

    @app.on_partitions_assigned.connect
    async def _assigned(*args: Any, **__: Any) -> None:
        settlement = settlement_of(app)
        assigned = [tp for tp in args[1] if settlement.is_read(tp.topic)]  # (sender, assigned)
        settlement.forget(assigned)  # read from the committed offset, whatever was taken
        unknown = [tp for tp in assigned if settlement.start(tp) is None]
        if unknown:
            for tp, first in (await app.consumer.earliest_offsets(*unknown)).items():
                settlement.set_start(tp, first)

    @app.timer(interval=CHECK_EVERY)
    async def reread_stalled() -> None:
        consumer = app.consumer
        assert isinstance(consumer, ContiguousCommitConsumer)  # StreamsApp's; its bookkeeping is read here
        settlement = settlement_of(app)
        now = time.monotonic()
        held = {(m.tp, m.offset) for m in consumer.unacked}
        for tp in consumer.assignment():
            if not app.topics.acks_enabled_for(tp.topic):
                continue  # table changelogs: read by recovery, not acknowledged
            unsettled = settlement.unsettled(tp)
            committed = consumer._committed_offset[tp]
            if committed is None:
                committed = settlement.start(tp)  # a new group: its first offset
                if committed is None:
                    continue
            done = [o for o in settlement.done(tp) if o not in unsettled]
            holds = (tp, committed) in held or settlement.is_taken(tp, committed)
            try:
                position = await consumer.position(tp)  # the next offset the fetcher asks for
            except Exception:  # the partition moving away in a rebalance right now: the next check sees
                position = None
            # Fetched past the committed offset with no agent finishing anything there for a while: skipped, not
            # slow (an agent behind a backlog keeps finishing events of the partition, and is left alone).
            fetched = (
                position is not None and position > committed and settlement.idle_seconds(tp, now) >= IDLE_SECONDS
            )
            if watching.stalled(
                tp, committed, done, now, held=holds, failed=settlement.has_failed(tp), fetched=fetched
            ):
                app.log.warning("re-reading %s from offset %s: the event there was never handled", tp, committed)
                await consumer.seek(tp, committed)
            elif position is not None and position > committed and watching.behind_for(tp, committed, now) > 60:
                # Not a case the watch acts on, yet the commit has not moved for a minute: say what it waits on.
                app.log.warning(
                    "%s: commit waits at %s (fetched to %s; finished past it %s; unsettled %s; idle %.0fs; held %s)",
                    tp,
                    committed,
                    position,
                    done[:5],
                    sorted(unsettled)[:5],
                    settlement.idle_seconds(tp, now),
                    holds,
                )
