"""bench.replay's synthetic log: deterministic turns and memories, produced to the broker (and counted there),
and the Milvus rows they end as.

Apart from ``bench.replay`` (the command line and the report) and ``bench.replay_runs`` (the replays) because
it is the input both read: what the log holds is decided here alone.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from confluent_kafka import Consumer, KafkaException, TopicPartition

from adapters.kafka import ensure_topics, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    Entity,
    Envelope,
    Event,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
    Producer,
    Relation,
    Scope,
)
from memory.contract.ids import derived_event_id, entity_id_for, memory_id_for
from memory.settings import Settings
from tests.support import unique

DIM = 384
MODEL = "synthetic-384"
PEOPLE = ["Nora", "Sam", "Lea", "Omar", "Kenji", "Ines", "Tom", "Priya"]
PLACES = ["Paris", "Lisbon", "Berlin", "Tokyo", "Oslo", "Rome", "Austin", "Lima"]
THINGS = ["pottery", "coffee", "tennis", "jazz", "a puppy named Rex", "the marathon", "a new laptop", "climbing"]
VERBS = ["loves", "visited", "booked", "recommended", "finished", "planned", "bought", "started"]
WHEN = ["last week", "yesterday", "in May", "every Saturday", "two years ago", "next month"]
_PRODUCER = Producer("bench.replay")


# ── the synthetic log ─────────────────────────────────────────────────────────────────────────────────


def synthetic_events(count: int, scopes: int, seed: int = 7) -> Iterator[Event]:
    """At least ``count`` events in log order, whole turns only. Deterministic for a seed."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    produced = 0
    turn_no = 0
    while produced < count:
        scope = Scope("bench-replay", f"user-{turn_no % scopes}")
        at = t0 + timedelta(seconds=30 * turn_no)
        turn_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-replay/{seed}/{turn_no}"))
        facts = [_fact(rng) for _ in range(rng.randint(1, 3))]

        def env(kind: str, event_id: str, delay: int, scope: Scope = scope, at: datetime = at) -> Envelope:
            return Envelope(event_id, kind, 1, scope, at, at + timedelta(seconds=delay), None, None, _PRODUCER)

        yield ConversationTurnReceived(
            env("ConversationTurnReceived", turn_id, 0),
            "bench",
            str(turn_no),
            "user",
            "Alex",
            " ".join(text for text, _, _ in facts),
        )
        produced += 1
        unit = vectors.standard_normal((len(facts), DIM), dtype=np.float32)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        for position, (text, names, relation) in enumerate(facts):
            memory_id = memory_id_for(turn_id, position)
            extracted = env("MemoryExtracted", derived_event_id(turn_id, "MemoryExtracted", position), 1)
            entities = tuple(Entity(entity_id_for(scope.key, n), n, k) for n, k in names)
            subject, target = entity_id_for(scope.key, "Alex"), entity_id_for(scope.key, names[-1][0])
            relations = (Relation(subject, relation, target),) if relation else ()
            yield MemoryExtracted(
                extracted, memory_id, text, "fact", (str(turn_no),), (turn_id,), 0.5, "bench", {"role": "user"}
            )
            linked = env("EntitiesLinked", derived_event_id(turn_id, "EntitiesLinked", position), 1)
            yield EntitiesLinked(linked, memory_id, entities, relations)
            embedded = env("MemoryEmbedded", derived_event_id(extracted.event_id, "MemoryEmbedded"), 2)
            yield MemoryEmbedded(embedded, memory_id, MODEL, tuple(unit[position].tolist()))
            activated = env("MemoryActivated", derived_event_id(extracted.event_id, "MemoryActivated"), 2)
            yield MemoryActivated(activated, memory_id)
            produced += 4
        turn_no += 1


def _fact(rng: random.Random) -> tuple[str, list[tuple[str, str]], str]:
    person, place, thing = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(THINGS)
    text = f"Alex {rng.choice(VERBS)} {thing} with {person} in {place} {rng.choice(WHEN)}."
    return text, [("Alex", "person"), (person, "person"), (place, "place")], rng.choice(["", "KNOWS", "VISITED"])


def produce_log(settings: Settings, count: int, scopes: int) -> dict[str, Any]:
    ensure_topics(settings)
    codec = Codec()
    producer = make_producer(settings, **{"queue.buffering.max.messages": 500_000})
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    counts = {"turns": 0, "memory_events": 0, "memories": 0}
    started = time.perf_counter()
    for event in synthetic_events(count, scopes):
        is_turn = isinstance(event, ConversationTurnReceived)
        topic = settings.topics.turns if is_turn else settings.topics.memories
        counts["turns" if is_turn else "memory_events"] += 1
        counts["memories"] += isinstance(event, MemoryExtracted)
        while True:
            try:
                producer.produce(topic, codec.encode(event), event.scope.key.encode(), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(120) or errors:
        raise KafkaException(f"log not fully produced: {errors[:3]}")
    return {**counts, "events": counts["turns"] + counts["memory_events"], "produce_s": elapsed(started)}


def messages_in(settings: Settings, topics: list[str]) -> int:
    consumer = Consumer(client_config(settings, **{"group.id": unique("bench-count-")}))
    try:
        total = 0
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            for partition in metadata.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                total += high - low
        return total
    finally:
        consumer.close()


def milvus_rows(count: int, scopes: int) -> Iterator[dict[str, Any]]:
    """The rows the Milvus projection ends with for the synthetic log, built the projector's way."""
    for event in synthetic_events(count, scopes):
        if isinstance(event, MemoryEmbedded):
            scope = event.scope
            yield {
                "memory_id": event.memory_id,
                "app_id": scope.app_id,
                "user_id": scope.user_id,
                "agent_id": "",
                "run_id": "",
                "state": "active",
                "occurred_at": int(event.envelope.occurred_at.timestamp() * 1000),
                "model": event.model,
                "vector": event.vector,
            }


def elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 2)
