"""Records ``MemoryAccessed`` for what a search or context returned, off the request's path.

The response never waits: the events are built, encoded and handed to the Kafka producer's queue by one thread of
their own, in the order the searches answered (encoding ten events was a millisecond of every search's time), and
librdkafka sends them from its thread; delivery failures are logged, not raised. Accesses feed importance and
decay; a lost access costs a little ranking signal, a slow search costs the user.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

from confluent_kafka import Producer

from adapters.logs import REQUEST_ID
from memory.contract.codec import Codec
from memory.contract.events import Envelope, MemoryAccessed, Scope
from memory.contract.events import Producer as EventProducer
from memory.contract.ids import derived_event_id

log = logging.getLogger(__name__)
COMPONENT = "api.access"


class Hit(NamedTuple):
    """One returned memory, as the response showed it."""

    memory_id: str
    retrievers: list[str]
    # The state the search read it in: the lifecycle recalls an archived memory only for a hit that saw it archived.
    state: str


def access_events(
    scope: Scope, hits: list[Hit], request_id: str, now: datetime, correlation_id: str | None = None
) -> list[MemoryAccessed]:
    """One event per returned memory, in rank order; ids derive from the request so a retry is the same event.
    ``correlation_id``: the search's HTTP request (adapters/logs.py); default: the one in context, else the id."""
    return [
        MemoryAccessed(
            envelope=Envelope(
                event_id=derived_event_id(request_id, "MemoryAccessed", rank),
                event_type="MemoryAccessed",
                schema_version=1,
                scope=scope,
                occurred_at=now,
                recorded_at=now,
                causation_id=None,
                correlation_id=correlation_id or REQUEST_ID.get() or request_id,
                producer=EventProducer(COMPONENT),
            ),
            memory_id=hit.memory_id,
            rank=rank,
            retrievers=tuple(hit.retrievers),
            request_id=request_id,
            seen_state=hit.state,
        )
        for rank, hit in enumerate(hits, start=1)
    ]


class AccessRecorder:
    def __init__(self, producer: Producer, codec: Codec, topic: str):
        self._producer = producer
        self._codec = codec
        self._topic = topic
        self.failed = 0
        # One thread: the events of one search go out together, and searches' events in the order they answered.
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-records")

    def record(self, scope: Scope, hits: list[Hit]) -> str:
        """Hand the events to the sending thread and return at once; returns the request id the events carry."""
        request_id = str(uuid.uuid4())
        # Read here: the request's context (its id) does not follow the work into the thread.
        correlation_id = REQUEST_ID.get() or request_id
        self._sender.submit(self._send, scope, hits, request_id, datetime.now(UTC), correlation_id)
        return request_id

    def _send(self, scope: Scope, hits: list[Hit], request_id: str, now: datetime, correlation_id: str) -> None:
        try:
            for event in access_events(scope, hits, request_id, now, correlation_id):
                try:
                    value, key = self._codec.encode(event), scope.key.encode()
                    self._producer.produce(self._topic, key=key, value=value, on_delivery=self._delivered)
                except BufferError:
                    self.failed += 1
                    log.warning("producer queue full; dropping an access record")
            self._producer.poll(0)  # serve earlier delivery callbacks without waiting
        except Exception:  # a thread's error reaches no one: log it, and keep recording the next searches
            self.failed += len(hits)
            log.exception("access records of request %s not sent", request_id)

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.failed += 1
            log.warning("access record not delivered: %s", err)

    def flush(self, timeout: float = 5.0) -> None:
        """Send what the searches so far recorded: wait for the thread's queue, then for the producer's."""
        self._sender.submit(lambda: None).result(timeout)
        self._producer.flush(timeout)
