"""projections.apply_ahead: one batch in flight, finished in order, and never finished when it was not done."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from projections.apply_ahead import ApplyAhead, Batch


def batch(*offsets: int) -> Batch:
    # The applier only passes messages through to ``finish``; plain offsets stand for them here.
    items: list[Any] = list(offsets)
    return Batch(messages=items, items=items)


class Recorder:
    def __init__(self, refuse: set[int] | None = None, hold: threading.Event | None = None) -> None:
        self.applied: list[list[int]] = []
        self.finished: list[list[int]] = []
        self.threads: set[str] = set()
        self.refuse = refuse or set()
        self.hold = hold

    def apply(self, items: list[Any]) -> bool:
        if self.hold is not None:
            self.hold.wait(timeout=10)
        self.threads.add(threading.current_thread().name)
        self.applied.append(list(items))
        return not self.refuse.intersection(items)

    def finish(self, done: Batch, seconds: float) -> None:
        assert seconds >= 0
        self.finished.append(list(done.messages))


def test_each_batch_is_finished_in_order_on_the_callers_thread_after_the_next_was_submitted() -> None:
    hold = threading.Event()
    recorder = Recorder(hold=hold)
    ahead = ApplyAhead(recorder.apply, recorder.finish, "test")
    assert ahead.submit(batch(0, 1))
    assert recorder.finished == []  # applying on its own thread, held: not done yet
    hold.set()
    assert ahead.submit(batch(2, 3))  # settles the first batch before the second starts
    assert recorder.finished == [[0, 1]]
    assert ahead.settle()
    assert recorder.finished == [[0, 1], [2, 3]]
    assert recorder.applied == [[0, 1], [2, 3]]
    assert recorder.threads == {"apply-test_0"}  # never on the caller's thread
    ahead.close()


def test_a_batch_that_was_not_done_is_never_finished_and_the_next_is_dropped() -> None:
    recorder = Recorder(refuse={3})  # applying 3 is cut short (the runner stopping)
    ahead = ApplyAhead(recorder.apply, recorder.finish, "test")
    assert ahead.submit(batch(0, 1))
    assert ahead.submit(batch(2, 3))
    assert not ahead.submit(batch(4, 5))  # the batch before it was not done: 4 and 5 are read again later
    assert recorder.finished == [[0, 1]]
    assert recorder.applied == [[0, 1], [2, 3]]
    assert ahead.settle()  # nothing in flight any more
    ahead.close()


def test_a_batch_with_nothing_to_apply_is_finished_after_the_one_before() -> None:
    recorder = Recorder()
    ahead = ApplyAhead(recorder.apply, recorder.finish, "test")
    assert ahead.submit(batch(0))
    assert ahead.submit(Batch(messages=[1], items=[]))  # e.g. every message dead-lettered while decoding
    ahead.close()  # close settles what is in flight
    assert recorder.finished == [[0], [1]]
    assert recorder.applied == [[0]]


def test_an_error_escaping_the_apply_reaches_the_runner_and_finishes_nothing() -> None:
    def failing(items: list[Any]) -> bool:
        raise KeyboardInterrupt  # a BaseException: _apply_with_retry lets it through

    finished: list[Batch] = []
    ahead = ApplyAhead(failing, lambda done, _s: finished.append(done), "test")
    assert ahead.submit(batch(0))
    with pytest.raises(KeyboardInterrupt):
        ahead.settle()
    assert finished == []
    ahead.close()
