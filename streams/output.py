"""What the agents send: their events, and dead letters for the events that can never be handled.

Dead-letter records are bounded (``adapters.dead_letters``), so a dead letter always fits, whatever came in.
Every send here is idempotent (event ids and dead-letter ids are derived), so a batch's sends are retried
whole.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import faust
from faust.types import RecordMetadata

from adapters import faults
from adapters.dead_letters import bounded_key, dead_letter
from adapters.metrics import DEAD_LETTERS, EVENTS_PRODUCED, reason_of
from memory.contract.codec import Codec
from streams.topics import raw_topic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rejected:
    event: faust.EventT
    reason: str
    error: BaseException | str
    # The request the event came from, when it could be decoded (adapters/logs.py): the dead letter's log line
    # names it, so following a request through the logs shows where it ended.
    correlation_id: str | None = None


class DeadLetterSender:
    def __init__(self, app: faust.App, codec: Codec, topic: str, component: str):
        self._topic = raw_topic(app, topic)
        self._codec = codec
        self._component = component

    async def send(self, rejected: list[Rejected]) -> None:
        """Send every rejected event's dead letter and wait for the broker's acknowledgement (idempotent:
        a dead letter's id derives from the component and the position, so a retry repeats it exactly)."""
        if not rejected:
            return
        faults.trip("deadletter.send")
        futures = []
        for item in rejected:
            msg = item.event.message
            log.warning(
                "%s: dead-lettering %s/%s/%s: %s", self._component, msg.topic, msg.partition, msg.offset, item.reason,
                extra={"component": self._component, "correlation_ids": [c for c in [item.correlation_id] if c]},
            )
            record = dead_letter(
                self._codec, self._component, item.reason, item.error, msg.topic, msg.partition, msg.offset,
                msg.key, msg.value,
            )
            futures.append(await self._topic.send(key=bounded_key(msg.key), value=record))
        await asyncio.gather(*futures)
        for item in rejected:
            DEAD_LETTERS.labels(self._component, reason_of(item.error)).inc()


async def send_all(
    topic: faust.TopicT, messages: list[tuple[bytes, bytes]], fault_point: str, component: str
) -> list[RecordMetadata]:
    """Send ``messages`` (key, value) and wait until the broker has acknowledged every one; where each went."""
    faults.trip(fault_point)
    futures = [await topic.send(key=key, value=value) for key, value in messages]
    written: list[RecordMetadata] = await asyncio.gather(*futures)
    EVENTS_PRODUCED.labels(component).inc(len(messages))
    return written
