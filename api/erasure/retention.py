"""How long the Kafka topics keep a user's events after an erasure, read from the broker (``retention.ms``).

Erasing a user removes their data from every store, but the log is append-only: the user's turns, commands,
memory events and dead letters stay on their topics until retention deletes the segments that hold them.
The receipt says so, with each topic's retention as the broker reports it now (cached for a minute).
"""

from __future__ import annotations

import asyncio
import time

from confluent_kafka.admin import ConfigResource

from adapters.kafka import make_admin
from api.erasure.schemas import KafkaLog, TopicRetention
from memory.settings import Settings

CACHE_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 5.0
NO_TIME_LIMIT = -1
_UNITS = ((86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute"), (1_000, "second"))


def describe_duration(ms: int) -> str:
    """``604800000`` → ``"7 days"``; the largest unit that divides it whole (else seconds, rounded)."""
    for size, name in _UNITS:
        if ms % size == 0 and ms >= size:
            count = ms // size
            return f"{count} {name}{'s' if count != 1 else ''}"
    return f"{ms / 1000:g} seconds"


def statement(user_id: str, topics: list[TopicRetention]) -> str:
    read = [t for t in topics if t.retention_ms is not None]
    parts = [
        f"{t.topic} keeps records without a time limit"
        if t.retention_ms == NO_TIME_LIMIT
        else f"{t.topic} keeps records for {describe_duration(t.retention_ms or 0)}"
        for t in read
    ]
    said = (
        ": " + "; ".join(parts) + "."
        if parts
        else ". Their retention could not be read from the broker just now; ask again later."
    )
    return (
        f"Erasing removes the data of user {user_id!r} from the stores this receipt lists. The Kafka log still holds "
        "the events of the user (conversation turns, commands, memory events and any dead letters) until each "
        f"topic's retention deletes them{said}"
    )


class TopicRetentions:
    """Each topic's ``retention.ms``, read with the AdminClient and kept for ``CACHE_SECONDS``."""

    def __init__(self, settings: Settings):
        self._admin = make_admin(settings)  # as the pipeline's principal: describing configs needs it
        topics = settings.topics
        self._topics = [topics.turns, topics.commands, topics.memories, topics.deadletter]
        self._cached: list[TopicRetention] = []
        self._read_at = float("-inf")

    async def read(self) -> list[TopicRetention]:
        if time.monotonic() - self._read_at < CACHE_SECONDS:
            return self._cached
        found: dict[str, int | None] = dict.fromkeys(self._topics)
        resources = [ConfigResource(ConfigResource.Type.TOPIC, topic) for topic in self._topics]
        futures = self._admin.describe_configs(resources, request_timeout=REQUEST_TIMEOUT_SECONDS)
        complete = True
        for resource, future in futures.items():
            try:
                entries = await asyncio.wrap_future(future)
                found[resource.name] = int(entries["retention.ms"].value)
            except Exception:  # the broker or the topic is unavailable: the receipt says it could not be read
                complete = False
        retentions = [TopicRetention(topic=topic, retention_ms=ms) for topic, ms in found.items()]
        if complete:
            self._cached, self._read_at = retentions, time.monotonic()
        return retentions

    async def kafka_log(self, user_id: str) -> KafkaLog:
        topics = await self.read()
        return KafkaLog(statement=statement(user_id, topics), topics=topics)
