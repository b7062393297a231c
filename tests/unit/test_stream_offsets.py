"""Commit bookkeeping that never skips an event (streams.offsets); the kill -9 e2e test shows it end to end."""

from __future__ import annotations

from faust.types import TP

from streams.offsets import committable, next_commit
from streams.settlement import Settlement
from streams.stall_watch import StallWatch

PARTITION = TP("memstream.turns.v1", 0)


def test_the_commit_moves_through_acknowledged_offsets_one_after_another() -> None:
    assert next_commit(10, [10, 11, 12]) == 13
    assert next_commit(10, [12, 10, 11]) == 13  # acknowledged out of order: the same run
    assert next_commit(10, [10, 11, 13, 14]) == 12  # 12 is not done: the run stops before it


def test_an_event_never_acknowledged_holds_the_commit_back() -> None:
    # Faust 0.15.3 would commit 14 here, skipping 10 for good (its head-gap check is off by one).
    assert next_commit(10, [11, 12, 13]) is None
    assert next_commit(10, []) is None


def test_a_new_group_starts_from_its_first_acknowledgement() -> None:
    assert next_commit(None, [5, 6, 8]) == 7


def test_a_partition_waiting_on_a_dropped_event_is_re_read_after_the_stall_period() -> None:
    watch = StallWatch(stall_seconds=30)
    assert not watch.stalled(PARTITION, 10, [11, 12], now=0)
    assert not watch.stalled(PARTITION, 10, [11, 12, 13], now=29)
    assert watch.stalled(PARTITION, 10, [11, 12, 13], now=30)
    # Re-read once; the clock starts again in case the re-read is itself lost in a rebalance.
    assert not watch.stalled(PARTITION, 10, [11, 12, 13], now=31)
    assert watch.stalled(PARTITION, 10, [11, 12, 13], now=60)


def test_a_dropped_event_no_agent_holds_is_re_read_sooner_than_a_slow_one() -> None:
    watch = StallWatch(stall_seconds=45, dropped_seconds=10)
    slow, dropped = TP("t", 0), TP("t", 1)
    assert not watch.stalled(slow, 10, [11], now=0, held=True)
    assert not watch.stalled(dropped, 10, [11], now=0, held=False)
    assert not watch.stalled(slow, 10, [11], now=10, held=True)  # still being handled: give it time
    assert watch.stalled(dropped, 10, [11], now=10, held=False)
    assert watch.stalled(slow, 10, [11], now=45, held=True)


def test_a_partition_that_makes_progress_is_never_re_read() -> None:
    watch = StallWatch(stall_seconds=30)
    assert not watch.stalled(PARTITION, 10, [11], now=0)
    assert not watch.stalled(PARTITION, 12, [13], now=20)  # the commit moved: a new wait begins
    assert not watch.stalled(PARTITION, 12, [13], now=40)
    assert not watch.stalled(PARTITION, 12, [12, 13], now=100)  # the event at the commit is done: no hole
    assert not watch.stalled(PARTITION, 14, [], now=200)  # nothing waits


def test_an_offset_an_agent_works_on_or_failed_holds_the_commit_back_though_faust_acknowledged_it() -> None:
    assert committable(10, [10, 11, 12], unsettled=set()) == 13
    assert committable(10, [10, 11, 12], unsettled={11}) == 11  # 11 is held: commit up to it, not past it
    assert committable(10, [10, 11, 12], unsettled={10}) is None
    # A new group whose first batch failed must not start its commits after that batch.
    assert committable(None, [5, 6, 7, 8], unsettled={5, 6}) is None
    assert committable(None, [5, 6, 7, 8], unsettled=set()) == 9


def test_a_partition_whose_batch_failed_is_re_read_even_with_nothing_acknowledged_after_it() -> None:
    watch = StallWatch(stall_seconds=45, dropped_seconds=10)
    assert not watch.stalled(PARTITION, 10, [], now=0, held=False, failed=True)
    assert watch.stalled(PARTITION, 10, [], now=10, held=False, failed=True)
    assert not watch.stalled(PARTITION, 10, [], now=11, held=False, failed=False)  # delivered again: nothing waits


def test_the_last_events_of_a_partition_skipped_in_a_rebalance_are_re_read() -> None:
    # Nothing after them to show a hole: only that the consumer fetched past the committed offset while the agents
    # finished nothing there (the caller's ``fetched``).
    watch = StallWatch(stall_seconds=45, dropped_seconds=10)
    assert not watch.stalled(PARTITION, 10, [], now=0, held=False, fetched=True)
    assert not watch.stalled(PARTITION, 10, [], now=9, held=False, fetched=True)
    assert watch.stalled(PARTITION, 10, [], now=10, held=False, fetched=True)
    assert not watch.stalled(PARTITION, 10, [], now=30, held=False, fetched=False)  # read to its end: nothing waits


def test_a_partition_whose_agents_keep_finishing_events_is_not_idle() -> None:
    settlement = Settlement()
    settlement.finish(events_at(5), now=1000.0)
    assert settlement.idle_seconds(PARTITION, now=1015.0) == 15.0
    settlement.finish(events_at(6), now=1020.0)
    assert settlement.idle_seconds(PARTITION, now=1025.0) == 5.0


class _Message:
    def __init__(self, offset: int) -> None:
        self.tp, self.offset = PARTITION, offset


class _Event:
    def __init__(self, offset: int) -> None:
        self.message = _Message(offset)


def events_at(*offsets: int) -> list[_Event]:
    return [_Event(o) for o in offsets]
