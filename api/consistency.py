"""Read your writes: a read that carries a write's consistency token waits until the pipeline has applied it.

The token holds the turn- (or command-) topic positions of the write. The read waits, bounded by
``consistency_timeout_seconds``, for these in order, each from committed consumer-group offsets:
1. the Faust worker has passed those positions (extracted the turns, decided the commands), so the memory
   events they cause are on the log;
2. the worker has passed the memory log's end, twice: once for the embedding agent (vectors), once more
   for the lifecycle agent's decision on each vector (activate, or reinforce the memory it repeats);
3. every projector (of the targets serving reads) has applied the memory log up to its end after step 2,
   and the PostgreSQL projector the turns themselves.
"""

from __future__ import annotations

import asyncio
import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from memory.positions import LogPosition, decode_token
from memory.settings import Settings
from projections.targets import STORES, active_targets, group_id

POLL_SECONDS = 0.05
# Agents that act on memory events the worker itself produced: each needs one more pass over the log's end.
DERIVED_STAGES = ("embedding", "lifecycle")


class NotCaughtUp(TimeoutError):
    pass


class ConsistencyWaiter:
    def __init__(self, settings: Settings):
        self._settings = settings
        self._admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        self._consumer = Consumer(
            {"bootstrap.servers": settings.kafka_bootstrap, "group.id": "memstream.api.watermarks"}
        )

    async def wait(self, token: str) -> None:
        positions = decode_token(token)  # InvalidTokenError → 400 upstream
        await asyncio.to_thread(self._wait, positions, self._settings.consistency_timeout_seconds)

    def _committed(self, group: str, partitions: list[TopicPartition]) -> dict[tuple[str, int], int]:
        request = ConsumerGroupTopicPartitions(group, partitions)
        result = self._admin.list_consumer_group_offsets([request])[group].result(timeout=5)
        return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}

    def _ends(self, topic: str) -> list[TopicPartition]:
        metadata = self._consumer.list_topics(topic, timeout=5)
        ends = []
        for partition in metadata.topics[topic].partitions:
            _low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
            ends.append(TopicPartition(topic, partition, high))
        return ends

    def _until(self, group: str, wanted: list[TopicPartition], deadline: float, what: str) -> None:
        wanted = [tp for tp in wanted if tp.offset > 0]
        if not wanted:
            return
        probe = [TopicPartition(tp.topic, tp.partition) for tp in wanted]
        while True:
            committed = self._committed(group, probe)
            if all(committed.get((tp.topic, tp.partition), -1) >= tp.offset for tp in wanted):
                return
            if time.monotonic() > deadline:
                raise NotCaughtUp(f"{what} did not catch up with the write within the timeout")
            time.sleep(POLL_SECONDS)

    def _wait(self, positions: list[LogPosition], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        topics = self._settings.topics
        turns = [TopicPartition(p.topic, p.partition, p.offset + 1) for p in positions if p.topic == topics.turns]
        written = [TopicPartition(p.topic, p.partition, p.offset + 1) for p in positions]
        worker = self._settings.faust_app_id
        self._until(worker, written, deadline, "extraction")
        for stage in DERIVED_STAGES:
            self._until(worker, self._ends(topics.memories), deadline, stage)
        memory_ends = self._ends(topics.memories)
        targets = active_targets(self._settings.postgres_dsn)
        for store in STORES:
            group = group_id(self._settings, store, targets[store])
            self._until(group, memory_ends, deadline, f"the {store} projection")
        self._until(group_id(self._settings, "postgres", targets["postgres"]), turns, deadline, "the conversation log")
