"""Offset bookkeeping that never skips an event, around faust-streaming 0.15.3's consumer.

A worker killed mid-ingest and restarted used to lose a few events in the rebalances that follow. Reading
faust's consumer (``faust/transport/consumer.py``) shows how:

1. When a rebalance suspends the flow while a fetched message is being handed to its agent, the hand-over
   is abandoned but the message is marked read; a rebalance also clears the agents' buffers. Either way the
   message is never acknowledged, which alone would only hold its partition's commits back.
2. But the committable offset skips it: ``Consumer._new_offset`` reads acknowledgements that start one past
   the committed offset as contiguous with it, and counts every offset in its "gap" intervals as done,
   and gaps are recorded whenever the read position jumps forward, as it does when a message prefetched
   before the rebalance arrives ahead of the ones the post-rebalance seek fetches again (those are then
   dropped as already read).

So here: (1) ``ContiguousCommitConsumer`` commits only through offsets that were acknowledged, one after
another from the committed offset: an event that was never handled holds its partition's commits back;
(2) ``StallWatch`` re-reads a partition from its committed offset when that offset has not moved for
``DROPPED_SECONDS`` (``STALL_SECONDS`` while an agent still holds the event) although later offsets were
acknowledged, or an agent's batch there failed (``streams.settlement``): the event there was dropped or not
finished, and reading it again
(with the few after it, which every consumer downstream applies idempotently) delivers it.
Offsets in Faust's gap intervals are not counted as done: the topics these agents read have no holes in
their offsets (no transactions, no compaction), so a gap there only ever means events that were skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.settlement import Settlement

# A hole whose event no agent holds (Faust tracks every message it hands over until it is acknowledged) is
# re-read after DROPPED_SECONDS; one whose event is still held, only after STALL_SECONDS, longer than any
# agent takes over one event (an LLM extraction has a 30 s timeout). Re-reading an event that was merely
# slow would only repeat idempotent work.
DROPPED_SECONDS = 10.0
STALL_SECONDS = 45.0
CHECK_EVERY = 5.0
# How long a rebalance waits for the events agents are working on: a batch finishes well within it (an LLM
# extraction with its 30 s timeout is the exception, and is simply read again); the broker's session timeout
# (10 s, streams.app) bounds it from above, or the member would be expelled and rebalance again.
WAIT_EMPTY_SECONDS = 4.0
WAIT_FOR_ACK_SECONDS = 0.5


def next_commit(committed: int | None, acked: list[int]) -> int | None:
    """Where the partition's commit can move: past the acknowledged offsets that follow the committed one
    without a hole, or None if the event at the committed offset is not done yet. With nothing committed
    yet (a new consumer group) the first acknowledgement starts the run, as in Faust."""
    if not acked:
        return None
    done = set(acked)
    offset = committed if committed is not None else min(done)
    if offset not in done:
        return None
    while offset in done:
        offset += 1
    return offset


def committable(committed: int | None, acked: list[int], unsettled: set[int]) -> int | None:
    """``next_commit`` over the acknowledged offsets that are also settled (streams.settlement): Faust
    acknowledges a batch however the agent's body ended, so an offset an agent still works on or failed is
    not done. A new group's first commit may not start past an unsettled offset either."""
    if committed is None and unsettled:
        committed = min(unsettled)
    return next_commit(committed, [o for o in acked if o not in unsettled])


class ContiguousCommitConsumer(faust_aiokafka.Consumer):
    def _new_offset(self, tp: TP) -> int | None:
        settlement = settlement_of(self.app)
        acked: list[int] = self._acked[tp]
        if not settlement.is_read(tp.topic):
            return super()._new_offset(tp)  # not an agent's topic (a table changelog): Faust's own rule
        # Offsets every agent of the topic finished (streams.settlement), not Faust's acknowledgements, which
        # also cover messages its stream skipped unprocessed around a rebalance. A new group (nothing committed)
        # starts at the partition's first offset, not at its first finished one: the first events can be the
        # skipped ones (a turn at offset 0 was lost that way when three workers joined at once).
        committed = self._committed_offset[tp]
        if committed is None:
            committed = settlement.start(tp)
            if committed is None:
                return None  # the partition's first offset is not known yet: commit nothing
        offset = committable(committed, settlement.done(tp), settlement.unsettled(tp))
        if offset is not None:
            settlement.prune(tp, offset)
            acked[:] = sorted(o for o in acked if o >= offset)
            self._acked_index[tp] = set(acked)
        return offset


    async def wait_empty(self) -> None:
        """Faust's ``Consumer.wait_empty`` waits, without limit, until every message an agent started on is
        acknowledged, before a rebalance may go on. A message whose hand-over the rebalance abandoned (point 1
        above) is never acknowledged, so with several workers a survivor of a killed one waited forever and
        held its partitions (``wait_empty: Waiting for tasks``). Wait a bounded time instead: what is still
        unacknowledged then is not committed (the commit above never passes it), and the partition's owner
        after the rebalance reads it again."""
        deadline = time.monotonic() + WAIT_EMPTY_SECONDS
        while not self.should_stop and self._unacked_messages and time.monotonic() < deadline:
            await self.commit()
            await self._wait_for_ack(timeout=WAIT_FOR_ACK_SECONDS)
            self._clean_unacked_messages()
        if self._unacked_messages:
            self.log.warning(
                "rebalance goes on with %d events never acknowledged: their partitions are read again from the"
                " committed offset",
                len(self._unacked_messages),
            )
        await self.commit_and_end_transactions()


class ContiguousCommitTransport(faust_aiokafka.Transport):
    Consumer = ContiguousCommitConsumer


class StreamsApp(faust.App):
    """The Faust app with the consumer above (``_new_transport`` is where Faust picks its transport), and
    the settlement of its agents' batches."""

    settlement: Settlement

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.settlement = Settlement()

    def _new_transport(self) -> Any:
        return ContiguousCommitTransport(self.conf.broker_consumer, self)


def settlement_of(app: Any) -> Settlement:
    settlement: Settlement = app.settlement  # a StreamsApp's; the consumer and the agents share it
    return settlement


@dataclass
class StallWatch:
    """Which partitions wait on an event that was never handled, and since when."""

    stall_seconds: float = STALL_SECONDS
    dropped_seconds: float = DROPPED_SECONDS
    _waiting: dict[TP, tuple[int, float]] = field(default_factory=dict)

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
        """True once ``tp`` has waited at the same committed offset, with later offsets acknowledged or an
        agent's batch there failed (``failed``), for ``dropped_seconds`` if no agent holds the event there
        (``held``), else ``stall_seconds``; or, with nothing later done, for ``stall_seconds`` while the
        consumer has fetched past it (``fetched``): the last events of a partition, skipped in a rebalance,
        have no later event to show the hole. Then the clock starts again, so a partition is re-read at most
        once per period."""
        hole = bool(acked) and min(acked) > committed
        if not (failed or hole or fetched):
            self._waiting.pop(tp, None)
            return False
        offset, since = self._waiting.setdefault(tp, (committed, now))
        if offset != committed:
            self._waiting[tp] = (committed, now)
            return False
        patience = self.dropped_seconds if (failed or hole) and not held else self.stall_seconds
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
            fetched = position is not None and position > committed
            if watching.stalled(
                tp, committed, done, now, held=holds, failed=settlement.has_failed(tp), fetched=fetched
            ):
                app.log.warning("re-reading %s from offset %s: the event there was never handled", tp, committed)
                await consumer.seek(tp, committed)
