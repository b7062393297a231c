"""Which events the agents have taken but not finished, so that no failure ever commits past one.

Faust's ``take_events`` acknowledges every event of a batch when the agent's loop body ends, however it
ends: an exception in the middle of a batch used to leave the rest of the batch acknowledged and never
processed (one oversized dead letter cost other users' turns that way). So each batch is *settled*
explicitly:

- ``Settling`` (``async with settlement.settling(batch, component)``) marks the batch's offsets as taken
  while the agent works on them; the commit (``streams.offsets.ContiguousCommitConsumer``) never moves past
  a taken offset, whatever Faust has acknowledged.
- If the body fails, the offsets are marked failed instead: the commit stays behind them, the stall watch
  (``streams.stall_watch.watch_for_stalls``) re-reads the partition from its committed offset, and the events
  are processed again (every consumer downstream is idempotent). The failure is logged and the agent goes on
  with the next batch; it is not restarted with half a batch acknowledged.
- Poison (one event that can never be handled) is not a batch failure: the agents dead-letter it with its
  reason inside the body, so the batch completes.

Sending effects (memory events, table changelog, dead letters) is retried a few times in place first
(``retrying``), because most broker hiccups pass within seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from faust.types import TP

from adapters.metrics import BATCH_SECONDS, BATCH_SIZE, EVENTS_CONSUMED

log = logging.getLogger(__name__)
SEND_ATTEMPTS = 5
FIRST_BACKOFF_SECONDS = 0.2


def _positions(events: Iterable[Any]) -> list[tuple[TP, int]]:
    return [(event.message.tp, event.message.offset) for event in events]


@dataclass
class Settlement:
    """Per partition: offsets taken by an agent (counted: two agents read the memory log) or failed, and the
    offsets every agent reading the topic has finished: the only ones the commit may pass. Faust's own
    acknowledgement is no proof of work: its stream acknowledges a message it *skips*, unprocessed, when the
    flow is suspended by a rebalance or the message is from the generation before one (``Stream.__aiter__``),
    and with several workers such a turn was committed past and lost."""

    _taken: dict[TP, dict[int, int]] = field(default_factory=dict)
    _failed: dict[TP, set[int]] = field(default_factory=dict)
    _readers: dict[str, set[str]] = field(default_factory=dict)  # topic -> the agents (components) reading it
    _done: dict[TP, dict[int, set[str]]] = field(default_factory=dict)  # offset -> the agents that finished it
    _start: dict[TP, int] = field(default_factory=dict)
    _last_finished: dict[TP, float] = field(default_factory=dict)  # monotonic time an agent last finished one
    _created: float = field(default_factory=time.monotonic)

    def reads(self, component: str, *topics: str) -> None:
        """Declare that ``component``'s agent reads ``topics`` (at registration)."""
        for topic in topics:
            self._readers.setdefault(topic, set()).add(component)

    def is_read(self, topic: str) -> bool:
        return topic in self._readers

    def set_start(self, tp: TP, offset: int) -> None:
        """The first offset ``tp`` holds: where a group that never committed there starts."""
        self._start[tp] = offset

    def start(self, tp: TP) -> int | None:
        return self._start.get(tp)

    def done(self, tp: TP) -> list[int]:
        """Offsets of ``tp`` that every agent reading its topic has finished."""
        readers = self._readers.get(tp.topic)
        if not readers:
            return []
        return sorted(o for o, finished in self._done.get(tp, {}).items() if finished >= readers)

    def with_done(self) -> list[TP]:
        """Partitions with finished offsets not yet under a commit."""
        return [tp for tp, done in self._done.items() if done]

    def prune(self, tp: TP, below: int) -> None:
        """Forget finished offsets under the commit: they will not be needed again."""
        done = self._done.get(tp)
        if done:
            for offset in [o for o in done if o < below]:
                del done[offset]

    def take(self, events: Sequence[Any]) -> None:
        for tp, offset in _positions(events):
            taken = self._taken.setdefault(tp, {})
            taken[offset] = taken.get(offset, 0) + 1
            self._failed.get(tp, set()).discard(offset)  # delivered again: this attempt decides

    def _release(self, tp: TP, offset: int) -> None:
        taken = self._taken.get(tp, {})
        left = taken.get(offset, 0) - 1
        if left > 0:
            taken[offset] = left
        else:
            taken.pop(offset, None)

    def finish(self, events: Sequence[Any], component: str = "", now: float | None = None) -> None:
        finished_at = time.monotonic() if now is None else now
        for tp, offset in _positions(events):
            self._release(tp, offset)
            self._last_finished[tp] = finished_at
            if component:
                self._done.setdefault(tp, {}).setdefault(offset, set()).add(component)

    def idle_seconds(self, tp: TP, now: float) -> float:
        """How long since an agent last finished an event of ``tp`` (since the start if none ever did)."""
        return now - self._last_finished.get(tp, self._created)

    def fail(self, events: Sequence[Any]) -> None:
        for tp, offset in _positions(events):
            self._release(tp, offset)
            self._failed.setdefault(tp, set()).add(offset)

    def unsettled(self, tp: TP) -> set[int]:
        """Offsets of ``tp`` the commit must not pass: taken by an agent now, or failed."""
        return set(self._taken.get(tp, {})) | self._failed.get(tp, set())

    def is_taken(self, tp: TP, offset: int) -> bool:
        return offset in self._taken.get(tp, {})

    def has_failed(self, tp: TP) -> bool:
        return bool(self._failed.get(tp))

    def forget(self, tps: Iterable[TP]) -> None:
        """Partitions revoked or newly assigned: their owner reads them from the committed offset anyway."""
        for tp in tps:
            self._taken.pop(tp, None)
            self._failed.pop(tp, None)

    def settling(self, events: Sequence[Any], component: str) -> Settling:
        return Settling(self, events, component)


class Settling:
    """Holds a batch's offsets while the body runs; on failure marks them failed, logs, and goes on."""

    def __init__(self, settlement: Settlement, events: Sequence[Any], component: str):
        self._settlement = settlement
        self._events = events
        self._component = component
        self._started = time.perf_counter()

    async def __aenter__(self) -> None:
        self._settlement.take(self._events)
        self._started = time.perf_counter()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: TracebackType | None
    ) -> bool:
        if error is None:
            self._settlement.finish(self._events, self._component)
            record_batch(self._component, len(self._events), time.perf_counter() - self._started)
            return False
        self._settlement.fail(self._events)
        if not isinstance(error, Exception):
            return False  # cancellation or shutdown: leave, and the events are read again after a restart
        log.error(
            "%s: a batch of %d events failed (%s: %s); it will be read again from the committed offset",
            self._component,
            len(self._events),
            type(error).__name__,
            error,
        )
        return True


async def retrying(what: str, send: Callable[[], Awaitable[None]], attempts: int = SEND_ATTEMPTS) -> None:
    """Run ``send`` (idempotent: it re-sends everything) until it succeeds, backing off; the last failure
    propagates, which fails the batch so that it is read again later."""
    delay = FIRST_BACKOFF_SECONDS
    for attempt in range(1, attempts + 1):
        try:
            await send()
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("%s failed (%s: %s); attempt %d of %d in %.1fs", what, type(exc).__name__, exc,
                        attempt + 1, attempts, delay)
            await asyncio.sleep(delay)
            delay *= 2


def record_batch(component: str, size: int, seconds: float) -> None:
    """A settled batch in the metrics (adapters/metrics.py): only settled ones, so a failed attempt is not counted."""
    EVENTS_CONSUMED.labels(component).inc(size)
    BATCH_SIZE.labels(component).observe(size)
    BATCH_SECONDS.labels(component).observe(seconds)
