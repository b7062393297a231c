"""Kafka plumbing shared by the CLI, the API, the projectors and replay: topics, producers, consumers, admin.

Every client is built here or from ``adapters.kafka_auth.client_config``, so every one of them authenticates as
the pipeline's principal on the internal listener.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from adapters import dead_letters
from adapters.kafka_auth import client_config
from memory.contract.positions import LogPosition
from memory.settings import Settings

log = logging.getLogger(__name__)


def ensure_topics(settings: Settings, timeout: float = 30.0) -> None:
    """Create the four topics if missing (idempotent). Memory topics are keyed by scope, so partitions matter."""
    admin = make_admin(settings)
    deadline = time.monotonic() + timeout
    wanted = [settings.topics.turns, settings.topics.commands, settings.topics.memories, settings.topics.deadletter]
    while True:
        try:
            existing = set(admin.list_topics(timeout=5).topics)
            break
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    configs = {settings.topics.deadletter: dead_letters.TOPIC_CONFIG}
    missing = [
        NewTopic(
            t,
            num_partitions=settings.kafka_partitions,
            replication_factor=settings.kafka_replication_factor,
            config=configs.get(t, {}),
        )
        for t in wanted
        if t not in existing
    ]
    for topic, future in (admin.create_topics(missing, operation_timeout=10).items() if missing else ()):
        try:
            future.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
            log.debug("topic %s already exists", topic)
    if settings.topics.deadletter in existing:
        _configure(admin, settings.topics.deadletter, dead_letters.TOPIC_CONFIG)


def _configure(admin: AdminClient, topic: str, config: dict[str, str]) -> None:
    """Set ``config`` on an existing topic (one created before the setting was part of the contract)."""
    entries = [ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET) for name, value in config.items()]
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=entries)
    for future in admin.incremental_alter_configs([resource]).values():
        future.result()


def make_admin(settings: Settings, **overrides: Any) -> AdminClient:
    # librdkafka's own lines through Python's logging (JSON lines, adapters/logs.py), not printed on stderr as plain
    # text: an admin client dropped with results still queued says so ("Purging ... unserved events") at level 6.
    return AdminClient(client_config(settings, **{"logger": log, **overrides}))


def make_consumer(settings: Settings, group_id: str, **overrides: Any) -> Consumer:
    return Consumer(client_config(settings, **{"group.id": group_id, **overrides}))


# How every producer of the project writes, the pipeline's and the producer door's (adapters.producer_door).
PRODUCER_CONFIG: dict[str, Any] = {
    "enable.idempotence": True,  # retries never duplicate or reorder a partition
    "acks": "all",
    "linger.ms": 5,
    "compression.type": "lz4",
    # The Java client's key hashing, which aiokafka (the Faust worker) uses too: a user's events land in
    # the same partition number on every topic whoever produced them (librdkafka's default, CRC32, does
    # not), so the worker's per-user table and the topics stay co-partitioned and one user's events on
    # the memory log stay in order whether the worker or the API wrote them.
    "partitioner": "murmur2_random",
}


def make_producer(settings: Settings, **overrides: Any) -> Producer:
    return Producer({**client_config(settings), **PRODUCER_CONFIG, **overrides})


class SyncProducer:
    """Produce and wait for the broker's acknowledgement; returns where each message landed."""

    def __init__(self, producer: Producer):
        self._producer = producer

    def reachable(self, timeout: float) -> None:
        """A metadata round trip to the broker (api/readiness.py); raises KafkaException when none answers."""
        self._producer.list_topics(timeout=timeout)

    def produce_all(
        self, messages: Sequence[tuple[str, bytes | None, bytes]], timeout: float = 30.0
    ) -> list[LogPosition]:
        results: list[LogPosition | None] = [None] * len(messages)
        errors: list[str] = []

        def on_delivery(index: int) -> Any:
            def callback(err: Any, msg: Any) -> None:
                if err is not None:
                    errors.append(str(err))
                else:
                    results[index] = LogPosition(msg.topic(), msg.partition(), msg.offset())

            return callback

        for index, (topic, key, value) in enumerate(messages):
            while True:
                try:
                    self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery(index))
                    break
                except BufferError:
                    self._producer.poll(0.1)  # local queue full: let deliveries drain
            self._producer.poll(0)
        remaining = self._producer.flush(timeout)
        if remaining or errors:
            raise KafkaException(f"{remaining} messages undelivered; errors: {errors[:3]}")
        return [r for r in results if r is not None]
