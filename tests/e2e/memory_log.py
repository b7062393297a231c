"""The memory log read from its first offset to its end as it is now: what e2e tests check decisions against."""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import Consumer, TopicPartition

from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.settings import Settings
from tests.support import unique


def read_memory_log(settings: Settings) -> Iterator[object]:
    """Every record on the memory log, decoded, up to the end offsets read when it starts (in log order within a
    partition: one user's events share one)."""
    codec = Codec()
    topic = settings.topics.memories
    consumer = Consumer(client_config(settings, **{"group.id": unique("memory-log-"), "enable.auto.commit": False}))
    try:
        partitions = list(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        remaining = {p for p, end in ends.items() if end > 0}
        while remaining:
            message = consumer.poll(10.0)
            assert message is not None, f"the memory log stopped before its end: partitions {remaining} unread"
            if message.error() is not None:
                continue
            yield codec.decode(message.value())
            if (message.offset() or 0) + 1 >= ends[message.partition() or 0]:
                remaining.discard(message.partition() or 0)
    finally:
        consumer.close()
