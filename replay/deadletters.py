"""``memstream replay deadletter``: list dead letters and re-drive them to where they came from, after a fix.

A re-driven message is the original, read from its position in the log (a dead letter holds only a
bounded prefix of it), produced again to its origin topic with its original key; the consumers are
idempotent, so re-driving something that was since applied changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from confluent_kafka import Consumer, TopicPartition

from adapters.dead_letters import read_original
from adapters.kafka import SyncProducer, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import DeadLetter
from memory.contract.positions import LogPosition
from memory.errors import DecodeError
from memory.settings import Settings

REDRIVE_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class Reading:
    """What one read of the dead-letter topic found, and where each partition stood."""

    letters: list[tuple[LogPosition, DeadLetter]] = field(default_factory=list)
    low: dict[int, int] = field(default_factory=dict)  # partition -> its first offset still in the log
    high: dict[int, int] = field(default_factory=dict)  # partition -> its end when the read began
    reached: dict[int, int] = field(default_factory=dict)  # partition -> the offset a next read starts from


def read_dead_letters(settings: Settings, timeout: float = 10.0) -> Iterator[tuple[LogPosition, DeadLetter]]:
    """Every dead letter on the topic, oldest first, read without joining a consumer group."""
    yield from read_dead_letters_from(settings, {}, timeout).letters


def read_dead_letters_from(settings: Settings, since: Mapping[int, int], timeout: float = 10.0) -> Reading:
    """The dead letters from ``since`` (partition -> first offset; a partition not named, or named below the log's
    start, from the log's start) up to each partition's end when the read began, oldest first."""
    codec = Codec()
    consumer = Consumer(
        client_config(
            settings,
            **{
                "group.id": "memstream.deadletter.reader",
                "enable.auto.commit": False,
            },
        )
    )
    topic = settings.topics.deadletter
    reading = Reading()
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        partitions = sorted(metadata.topics[topic].partitions) if topic in metadata.topics else []
        assignment = []
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            start = min(max(low, since.get(partition, low)), high)
            reading.low[partition], reading.high[partition], reading.reached[partition] = low, high, start
            if high > start:
                assignment.append(TopicPartition(topic, partition, start))
        if not assignment:
            return reading
        consumer.assign(assignment)
        deadline = time.monotonic() + timeout
        waiting = {tp.partition for tp in assignment}
        while waiting and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error() is not None:
                    continue
                partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
                if offset >= reading.high[partition]:
                    continue  # written after the read began: the next read has it
                reading.reached[partition] = offset + 1
                if offset + 1 >= reading.high[partition]:
                    waiting.discard(partition)
                try:
                    letter = codec.decode(msg.value())
                except DecodeError:
                    continue
                if isinstance(letter, DeadLetter):
                    reading.letters.append((LogPosition(topic, partition, offset), letter))
    finally:
        consumer.close()
    return reading


def distinct(letters: Iterable[tuple[LogPosition, DeadLetter]]) -> list[tuple[LogPosition, DeadLetter]]:
    """The first record of each dead letter: a send that was retried, or an event redelivered after a crash
    and refused again, writes the same dead letter (same id) more than once."""
    seen: set[str] = set()
    first = []
    for position, letter in letters:
        if letter.dead_letter_id not in seen:
            seen.add(letter.dead_letter_id)
            first.append((position, letter))
    return first


def redrive(settings: Settings, letters: list[DeadLetter]) -> list[LogPosition]:
    """Produce each letter's original message, read from the log, to its origin topic with its original key.

    Raises ``OriginalGone`` before producing anything if the log has lost an original that the letter
    does not hold whole."""
    originals = [(letter.origin_topic, *read_original(settings, letter)) for letter in letters]
    # The originals were accepted by the broker, so its limit, not the client's 1 MB default, is the bound.
    producer = SyncProducer(make_producer(settings, **{"message.max.bytes": REDRIVE_MAX_BYTES}))
    return producer.produce_all(originals)
