"""The workaround for faust-streaming 0.15.3 committing past events that were never acknowledged.

Upstream behaviour corrected (faust-streaming 0.15.3, ``faust/transport/consumer.py``):

- ``Consumer._new_offset(tp)`` decides how far a partition's commit may move. It sorts ``self._acked[tp]``,
  adds every offset of ``self._gap[tp]`` (intervals the consumer recorded when its read position jumped
  forward) to the acknowledged ones, and commits through the last offset of the first run that starts at
  ``self._committed_offset[tp] + 1`` or at whatever the lowest acknowledged offset is. Around a rebalance a
  fetched message can be marked read without ever reaching its agent (the hand-over is abandoned while the flow
  is suspended; the agents' buffers are cleared), and a message prefetched before the rebalance arriving ahead
  of the ones the post-rebalance seek fetches again makes a gap: the skipped offsets count as done and the
  commit moves past an event no agent handled. Restarted, the group never reads it again (events lost in a
  kill -9 crash test, tests/e2e/test_crash_safety.py).
- ``App._new_transport()`` (``faust/app/base.py``) is where the app builds its transport, whose ``Consumer``
  attribute is the consumer class (``faust/transport/drivers/aiokafka.py``).

- ``Stream.__aiter__`` (``faust/streams.py``) *acknowledges* a message it skips unprocessed, when the flow is
  suspended by a rebalance or the message is from the consumer generation before one ("we want to ack the
  filtered out message otherwise the lag would increase"). An acknowledgement is no proof that an agent handled
  the event: with three workers, a turn skipped so was committed past and lost (tests/e2e/test_rebalance.py).
- ``Consumer.wait_empty()`` waits, without limit, until every message an agent started on is acknowledged, and
  a rebalance waits on it. A message whose hand-over was abandoned is never acknowledged: a survivor of a killed
  worker waited forever ("wait_empty: Waiting for tasks") and held its partitions, and a worker asked to stop
  never stopped.

The correction: ``ContiguousCommitConsumer._new_offset`` commits only through offsets that every agent reading
the topic *finished* (``streams.settlement``: each agent settles its batches itself), one after another from the
committed offset, and ignores both Faust's acknowledgements and its gaps: the topics these agents read have no
holes in their offsets (no transactions, no compaction), so a gap there only ever means events that were
skipped. A group that never committed starts at the partition's first offset (``Settlement.start``), not at its
first finished one, which may lie past skipped events. ``wait_empty`` waits ``WAIT_EMPTY_SECONDS`` at most: what
is unfinished then is not committed, and the partition's next owner reads it again. Faust offers for commit
only the partitions it holds acknowledgements for (``Consumer._filter_tps_with_pending_acks``); ours offers every
assigned partition with finished offsets too. The consumer reads ``_acked``, ``_acked_index``,
``_committed_offset``, ``_unacked_messages``, ``_wait_for_ack`` and ``_clean_unacked_messages`` of the upstream
consumer, and ``StreamsApp._new_transport`` installs it. An event that was never handled holds its partition's
commits back, and ``streams.stall_watch`` reads the partition again from there.

``tests/unit/test_faust_upstream.py`` fails when an upgrade changes any of this: the pinned version, the upstream
fault itself, the private names and shapes used here, and where the transport is picked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import faust
from faust.exceptions import ConsumerNotStarted
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.settlement import Settlement

FAUST_VERSION = "0.15.3"  # the version this module was written against (pyproject.toml pins it)
# How long a rebalance (or a stop) waits for the events agents are working on: a batch finishes well within it
# (an LLM extraction with its 30 s timeout is the exception, and is simply read again); the broker's session
# timeout (10 s, streams.app) bounds it from above, or the member would be expelled and rebalance again.
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
        committed = self._committed_offset[tp]
        if committed is None:
            committed = settlement.start(tp)
            if committed is None:
                return None  # the partition's first offset is not known yet: commit nothing
        offset = committable(committed, settlement.done(tp), settlement.unsettled(tp))
        if offset is not None:
            settlement.prune(tp, offset)
            # Faust's acknowledgements below the new commit are of no more use; the ones beyond wait.
            acked[:] = sorted(o for o in acked if o >= offset)
            self._acked_index[tp] = set(acked)
        return offset

    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Iterator[TP]:
        """Faust commits only partitions it holds acknowledgements for; a partition whose finished events Faust
        never acknowledged in this assignment (re-read, or taken over after Faust had acknowledged its events
        elsewhere) would wait for the next one. Offer every assigned partition with finished offsets too."""
        settlement = settlement_of(self.app)
        try:
            assigned = self.assignment()
        except ConsumerNotStarted:  # not started, or stopping: Faust's own acknowledgements only
            assigned = set()
        offered: set[TP] = set()
        for tp in (*self._acked, *settlement.with_done()):
            if tp in offered or (tp not in self._acked and tp not in assigned):
                continue
            offered.add(tp)
            if topics is None or tp in topics or tp.topic in topics:
                yield tp

    async def wait_empty(self) -> None:
        """Wait for the events agents are working on, ``WAIT_EMPTY_SECONDS`` at most (see the module's
        docstring), then commit what is finished and go on."""
        deadline = time.monotonic() + WAIT_EMPTY_SECONDS
        while not self.should_stop and self._unacked_messages and time.monotonic() < deadline:
            await self.commit()
            await self._wait_for_ack(timeout=WAIT_FOR_ACK_SECONDS)
            self._clean_unacked_messages()
        if self._unacked_messages:
            self.log.warning(
                "going on with %d events never acknowledged: their partitions are read again from the committed"
                " offset",
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
