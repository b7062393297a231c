"""Records ``MemoryAccessed`` for what a search or context returned, off the request's path.

The response never waits: events are handed to the Kafka producer's own queue (librdkafka sends them from
its thread) and delivery failures are logged, not raised. Accesses feed importance and decay; a lost access
costs a little ranking signal, a slow search costs the user.
"""

from __future__ import annotations

import logging
import uuid
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


def access_events(scope: Scope, hits: list[Hit], request_id: str, now: datetime) -> list[MemoryAccessed]:
    """One event per returned memory, in rank order; ids derive from the request so a retry is the same event."""
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
                correlation_id=REQUEST_ID.get() or request_id,  # the search's HTTP request (adapters/logs.py)
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

    def record(self, scope: Scope, hits: list[Hit]) -> str:
        """Queue the events and return at once; returns the request id the events carry."""
        request_id = str(uuid.uuid4())
        for event in access_events(scope, hits, request_id, datetime.now(UTC)):
            try:
                self._producer.produce(
                    self._topic, key=scope.key.encode(), value=self._codec.encode(event), on_delivery=self._delivered
                )
            except BufferError:
                self.failed += 1
                log.warning("producer queue full; dropping an access record")
        self._producer.poll(0)  # serve earlier delivery callbacks without waiting
        return request_id

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.failed += 1
            log.warning("access record not delivered: %s", err)

    def flush(self, timeout: float = 5.0) -> None:
        self._producer.flush(timeout)
