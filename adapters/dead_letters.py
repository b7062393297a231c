"""Dead letters that always fit: where the failed message is, why it failed, and a bounded prefix of it.

A dead letter used to copy the whole original in. A turn near the broker's size limit then made a dead
letter over it, the send failed, the agent crashed, and the turns read in the same batch were acknowledged
unprocessed. Now a record carries at most ``PAYLOAD_PREFIX_BYTES`` of the value and ``KEY_PREFIX_BYTES`` of
the key (with their full sizes), so it stays under ``MAX_DEAD_LETTER_BYTES`` whatever came in; the
dead-letter topic and its producers are configured for that bound. The log still holds the original at
``origin_topic/origin_partition/origin_offset``, and re-drive reads it from there.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer, TopicPartition

from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import DeadLetter
from memory.settings import Settings

PAYLOAD_PREFIX_BYTES = 64 * 1024
KEY_PREFIX_BYTES = 1024
REASON_CHARS = 2000
# Prefixes, the reason, ids and Avro framing come to under 80 KiB; the rest is headroom.
MAX_DEAD_LETTER_BYTES = 256 * 1024
# Settings of the dead-letter topic, applied when it is created and again on every start (older topics).
TOPIC_CONFIG = {"max.message.bytes": str(MAX_DEAD_LETTER_BYTES)}


def dead_letter_id(component: str, topic: str, partition: int, offset: int) -> str:
    """One id per component and failed position: a redelivered failure produces the same dead letter."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{component}/{topic}/{partition}/{offset}"))


def bounded_key(key: bytes | None) -> bytes | None:
    """The dead letter's own Kafka key (and recorded key): the original's, cut to ``KEY_PREFIX_BYTES``."""
    return None if key is None else key[:KEY_PREFIX_BYTES]


def _bounded_reason(reason: str) -> str:
    if len(reason) <= REASON_CHARS:
        return reason
    return f"{reason[: REASON_CHARS - 30]}… ({len(reason)} characters)"


def dead_letter(
    codec: Codec,
    component: str,
    reason: str,
    error: BaseException | str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    payload: bytes | None,
) -> bytes:
    """Encode the dead-letter record for a message that could not be decoded or applied."""
    value = payload or b""
    record = DeadLetter(
        dead_letter_id=dead_letter_id(component, topic, partition, offset),
        reason=_bounded_reason(reason),
        error_type=error if isinstance(error, str) else type(error).__name__,
        component=component,
        origin_topic=topic,
        origin_partition=partition,
        origin_offset=offset,
        origin_key=bounded_key(key),
        payload=value[:PAYLOAD_PREFIX_BYTES],
        failed_at=datetime.now(UTC),
        payload_size=len(value),
        key_size=None if key is None else len(key),
    )
    return codec.encode(record)


class OriginalGone(LookupError):
    """The log no longer holds a dead letter's original (retention or compaction removed it)."""


def read_original(settings: Settings, letter: DeadLetter, timeout: float = 10.0) -> tuple[bytes | None, bytes]:
    """The failed message's key and value, read from its position in the log.

    A version 1 record carries the message whole, so it is used as it is if the log has lost it."""
    position = TopicPartition(letter.origin_topic, letter.origin_partition, letter.origin_offset)
    consumer = Consumer(
        client_config(
            settings,
            **{
                "group.id": "memstream.deadletter.redrive",
                "enable.auto.commit": False,
                "fetch.message.max.bytes": 64 * 1024 * 1024,
            },
        )
    )
    try:
        low, high = consumer.get_watermark_offsets(position, timeout=timeout)
        if low <= letter.origin_offset < high:
            consumer.assign([position])
            message = consumer.poll(timeout)
            if message is not None and message.error() is None and message.offset() == letter.origin_offset:
                return message.key(), message.value() or b""
    finally:
        consumer.close()
    if letter.holds_whole_message:
        return letter.origin_key, letter.payload
    raise OriginalGone(
        f"{letter.origin_topic}/{letter.origin_partition}/{letter.origin_offset} is no longer in the log "
        f"and the dead letter holds only the first {len(letter.payload)} of its {letter.payload_size} bytes"
    )
