"""Apply one batch on a thread while the runner reads and decodes the next (rebuilds: ``replay.rebuild``).

A rebuild's runner spends its time in two alternating halves: Python work under the GIL (consuming and Avro-decoding
a batch, ~60 µs per event) and waiting for the store to execute the batch (Neo4j's Cypher, Milvus Lite's insert:
the GIL is released while the driver waits on its socket). Done one after the other on a 2-core machine, one core
idles in each half. Here the store executes batch N while the runner's thread decodes batch N + 1.

The guarantees stay those of the synchronous runner, because exactly one batch is ever in flight and a batch
counts as done (``finish``) only after the one before it has: offsets are still committed only through wholly
applied batches, in log order. The runner settles the batch in flight before anything that reads or commits the
done offsets: an idle poll, a revocation (so the partitions leave with everything applied to them committed) and
its stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from confluent_kafka import Message

from projections.base import Positioned


@dataclass(frozen=True)
class Batch:
    messages: Sequence[Message]  # everything consumed, errors and dead-lettered events included: all become done
    items: list[Positioned]  # the decoded events to apply


@dataclass(frozen=True)
class _InFlight:
    batch: Batch
    applied: Future[bool] | None  # None: nothing to apply (every message an error or dead-lettered)
    started: float


class ApplyAhead:
    """At most one batch applying in the background; ``finish`` sees each batch, in order, once it is done."""

    def __init__(
        self, apply: Callable[[list[Positioned]], bool], finish: Callable[[Batch, float], None], name: str
    ) -> None:
        """``apply`` returns False when stopped before the batch was done; ``finish(batch, seconds)`` marks it
        done (offsets, commit, metrics) and runs on the caller's thread."""
        self._apply = apply
        self._finish = finish
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"apply-{name}")
        self._in_flight: _InFlight | None = None

    def submit(self, batch: Batch) -> bool:
        """Settle the batch in flight, then start applying ``batch``. False (and ``batch`` dropped, to be read
        again by whoever runs next) when the batch before it was not done."""
        if not self.settle():
            return False
        applied = self._executor.submit(self._apply, batch.items) if batch.items else None
        self._in_flight = _InFlight(batch, applied, time.perf_counter())
        return True

    def settle(self) -> bool:
        """Wait for the batch in flight and finish it if it was done. True when it was, or when none was."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is None:
            return True
        done = in_flight.applied.result() if in_flight.applied is not None else True
        if done:
            self._finish(in_flight.batch, time.perf_counter() - in_flight.started)
        return done

    def close(self) -> None:
        """Settle what is in flight (a stopping runner's apply returns promptly) and end the thread."""
        try:
            self.settle()
        finally:
            self._executor.shutdown(wait=True)
