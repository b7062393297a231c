"""Kafka offsets, read without holding a thread: the read-your-writes wait, consumer lag (metrics, status).

The AdminClient answers with concurrent futures that librdkafka's own background thread resolves; awaiting
them through ``asyncio.wrap_future`` keeps every Python thread (and the event loop) free while Kafka answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from adapters.kafka_auth import client_config
from memory.settings import Settings

REQUEST_TIMEOUT_SECONDS = 5.0
# Where a partition is: (topic, partition).
Partition = tuple[str, int]


class LogOffsets:
    def __init__(self, settings: Settings):
        self._admin = AdminClient(client_config(settings))

    async def committed(self, group: str, partitions: Iterable[Partition]) -> dict[Partition, int]:
        """The offsets ``group`` has committed (the next one it will read); absent where it has none."""
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in partitions])
        futures = self._admin.list_consumer_group_offsets([request], request_timeout=REQUEST_TIMEOUT_SECONDS)
        result = await asyncio.wrap_future(futures[group])
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions
            if tp.error is None and tp.offset >= 0  # negative: "no commit yet" in librdkafka's encoding
        }

    async def partitions(self, topics: Iterable[str]) -> list[Partition]:
        futures = self._admin.describe_topics(TopicCollection(list(topics)), request_timeout=REQUEST_TIMEOUT_SECONDS)
        found: list[Partition] = []
        for topic, future in futures.items():
            description = await asyncio.wrap_future(future)
            found.extend((topic, info.id) for info in description.partitions)
        return found

    async def ends(self, partitions: Iterable[Partition]) -> dict[Partition, int]:
        """The high watermark of each partition: one past the last acknowledged record."""
        asked = {TopicPartition(t, p): OffsetSpec.latest() for t, p in partitions}
        if not asked:
            return {}
        futures = self._admin.list_offsets(asked, request_timeout=REQUEST_TIMEOUT_SECONDS)
        results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures.values()))
        return {(tp.topic, tp.partition): info.offset for tp, info in zip(futures, results, strict=True)}

    async def topic_ends(self, topics: Iterable[str]) -> dict[Partition, int]:
        return await self.ends(await self.partitions(topics))


class CachedEnds:
    """End offsets of a few topics, reused for ``ttl`` seconds; one refresh serves every caller waiting on it."""

    def __init__(self, offsets: LogOffsets, topics: tuple[str, ...], ttl: float):
        self._offsets = offsets
        self._topics = topics
        self._ttl = ttl
        self._ends: dict[Partition, int] = {}
        self._read_at = float("-inf")  # monotonic time the cached read *started*
        self._lock = asyncio.Lock()

    async def read(self, started_after: float | None = None) -> dict[Partition, int]:
        """Ends from a read that started after ``started_after`` (default: within the last ``ttl`` seconds)."""
        since = time.monotonic() - self._ttl if started_after is None else started_after
        if self._read_at >= since:
            return self._ends
        async with self._lock:  # callers that queued here behind a refresh take its result instead of another
            if self._read_at < since:
                started = time.monotonic()
                self._ends = await self._offsets.topic_ends(self._topics)
                self._read_at = started
        return self._ends


@dataclass(frozen=True)
class Position:
    """Where a consumer group stands on one partition."""

    end: int  # the high watermark
    committed: int | None  # the next offset the group will read; None: it never committed here

    @property
    def lag(self) -> int:
        """Events the group has yet to read. A partition it never committed counts from 0: the pipeline's groups
        start from the earliest record, and the log is kept."""
        return max(self.end - (self.committed or 0), 0)


async def group_positions(offsets: LogOffsets, group: str, topics: Iterable[str]) -> dict[Partition, Position]:
    """The end and ``group``'s committed offset on every partition of ``topics``."""
    ends = await offsets.topic_ends(topics)
    committed = await offsets.committed(group, ends)
    return {partition: Position(end, committed.get(partition)) for partition, end in sorted(ends.items())}


async def group_lag(offsets: LogOffsets, group: str, topics: Iterable[str]) -> dict[Partition, int]:
    """How far ``group`` is behind on every partition of ``topics``."""
    return {partition: at.lag for partition, at in (await group_positions(offsets, group, topics)).items()}
