"""``memstream replay deadletter``: list dead letters and re-drive them to where they came from, after a fix.

A re-driven message is the original, read from its position in the log (a dead letter holds only a
bounded prefix of it), produced again to its origin topic with its original key; the consumers are
idempotent, so re-driving something that was since applied changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

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


def read_dead_letters(settings: Settings, timeout: float = 10.0) -> Iterator[tuple[LogPosition, DeadLetter]]:
    """Every dead letter on the topic, oldest first, read without joining a consumer group."""
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
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        partitions = sorted(metadata.topics[topic].partitions) if topic in metadata.topics else []
        ends = {}
        assignment = []
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            if high > low:
                ends[partition] = high
                assignment.append(TopicPartition(topic, partition, low))
        if not assignment:
            return
        consumer.assign(assignment)
        deadline = time.monotonic() + timeout
        done: set[int] = set()
        while len(done) < len(ends) and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error() is not None:
                    continue
                partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
                if offset + 1 >= ends[partition]:
                    done.add(partition)
                try:
                    letter = codec.decode(msg.value())
                except DecodeError:
                    continue
                if isinstance(letter, DeadLetter):
                    yield LogPosition(topic, partition, offset), letter
    finally:
        consumer.close()


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
