"""Re-reading a partition whose commits wait on an event that was dropped or failed.

With ``streams.offsets``, a partition's commit never moves past an event that was not acknowledged and settled;
an event that was dropped around a rebalance (never handed to its agent) or whose batch failed
(``streams.settlement``) then holds its partition back for good. ``StallWatch`` notices: the committed offset
has not moved for ``DROPPED_SECONDS`` (``STALL_SECONDS`` while an agent still holds the event) although later
offsets were acknowledged, or an agent's batch there failed. The partition is then read again from its committed
offset, which delivers the event (with the few after it, which every consumer downstream applies idempotently).
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


@dataclass
class StallWatch:
    """Which partitions wait on an event that was never handled, and since when."""

    stall_seconds: float = STALL_SECONDS
    dropped_seconds: float = DROPPED_SECONDS
    _waiting: dict[TP, tuple[int, float]] = field(default_factory=dict)

    def stalled(
        self, tp: TP, committed: int, acked: list[int], now: float, held: bool = True, failed: bool = False
    ) -> bool:
        """True once ``tp`` has waited at the same committed offset, with later offsets acknowledged or an
        agent's batch there failed (``failed``), for ``dropped_seconds`` if no agent holds the event there
        (``held``), else ``stall_seconds``. Then the clock starts again, so a partition is re-read at most
        once per period."""
        if not failed and (not acked or min(acked) <= committed):
            self._waiting.pop(tp, None)
            return False
        offset, since = self._waiting.setdefault(tp, (committed, now))
        if offset != committed:
            self._waiting[tp] = (committed, now)
            return False
        if now - since < (self.stall_seconds if held else self.dropped_seconds):
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
        settlement_of(app).forget(args[1])  # (sender, assigned): read from the committed offset, whatever was taken

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
                if not settlement.has_failed(tp):
                    continue
                committed = min(unsettled)  # a new group: read again from its first unfinished event
            done = [o for o in consumer._acked[tp] if o not in unsettled]
            holds = (tp, committed) in held or settlement.is_taken(tp, committed)
            if watching.stalled(tp, committed, done, now, held=holds, failed=settlement.has_failed(tp)):
                app.log.warning("re-reading %s from offset %s: the event there was never handled", tp, committed)
                await consumer.seek(tp, committed)
