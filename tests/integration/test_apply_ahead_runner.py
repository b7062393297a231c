"""A runner applying ahead (as ``memstream replay rebuild`` runs) against the real broker, PostgreSQL and Neo4j: the
same stores as the synchronous runner, poison dead-lettered, and its group's offsets committed to the log's end."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition
from neo4j import Driver

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import DeadLetter, MemoryExtracted
from memory.settings import Settings
from projections.base import Projector
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.runner import ProjectorRunner
from replay.snapshots import neo4j_snapshot, postgres_snapshot
from tests.integration.test_replay_and_deadletter import consume_all, run_until
from tests.support import create_schema, make_turn, pipeline_events, unique

POISON = b"\x00not avro at all"


def committed(settings: Settings, group: str, topic: str) -> int:
    consumer = Consumer(client_config(settings, **{"group.id": group, "enable.auto.commit": False}))
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(settings.kafka_partitions)], timeout=10)
        return sum(max(tp.offset, 0) for tp in offsets)
    finally:
        consumer.close()


def test_applying_ahead_gives_the_synchronous_runners_stores_and_commits_to_the_end(
    settings: Settings, neo4j_driver: Driver, embedder  # type: ignore[no-untyped-def]
) -> None:
    ensure_topics(settings)
    codec = Codec()
    users = [unique("user-") for _ in range(3)]
    texts = ["I live in Paris with my sister Nora.", "I love hiking in the Alps.", "I work at Lumen Labs as a chef."]
    turns = [make_turn(user, text, str(i)) for user in users for i, text in enumerate(texts)]
    events = pipeline_events(turns, embedder.embed)
    memories = settings.topics.memories
    messages = [(memories, e.scope.key.encode(), codec.encode(e)) for e in events]
    key = f"default/{users[0]}".encode()
    messages.insert(len(messages) // 2, (memories, key, POISON))  # mid-log, between batches applying ahead
    SyncProducer(make_producer(settings)).produce_all(messages)
    keys = [f"default/{u}" for u in users]

    def project(ahead: bool) -> dict[str, object]:
        dsn = create_schema(settings.postgres_dsn.split("?")[0], unique("ahead" if ahead else "sync"))
        prefix = unique("A" if ahead else "S")
        factories: dict[str, Callable[[], Projector]] = {
            "postgres": lambda: PostgresProjector(dsn, (memories,), name="postgres"),
            "neo4j": lambda: Neo4jProjector(neo4j_driver, settings.neo4j_database, (memories,), label_prefix=prefix),
        }
        for name, factory in factories.items():
            group = unique(f"{name}-")
            # Batches of 4: a dozen batches, each applied while the next is decoded.
            runner = ProjectorRunner(factory, settings, codec, group_id=group, batch_size=4, apply_ahead=ahead)
            run_until(runner, lambda r=runner: r.applied == len(events) and r.dead_lettered == 1)
            assert committed(settings, group, memories) == len(messages)  # nothing left behind, nothing skipped
        return {
            "postgres": postgres_snapshot(dsn, keys),
            "neo4j": neo4j_snapshot(neo4j_driver, settings.neo4j_database, keys, prefix),
        }

    synchronous, ahead = project(ahead=False), project(ahead=True)
    extracted = {e.memory_id for e in events if isinstance(e, MemoryExtracted)}
    assert len(synchronous["postgres"]["memories"]) == len(extracted)  # type: ignore[index]
    assert ahead == synchronous
    letters = consume_all(settings, settings.topics.deadletter, codec)
    letters = [letter for letter in letters if letter.payload == POISON]
    assert len(letters) == 4  # once per runner: postgres and neo4j, synchronous and ahead
    assert all(isinstance(letter, DeadLetter) and "marker" in letter.reason for letter in letters)


def test_a_runner_stopped_while_applying_ahead_commits_only_what_it_finished(
    settings: Settings, embedder  # type: ignore[no-untyped-def]
) -> None:
    ensure_topics(settings)
    codec = Codec()
    user = unique("user-")
    turns = [make_turn(user, f"I visited city number {i} on my trip around the world.", str(i)) for i in range(40)]
    events = pipeline_events(turns, embedder.embed)
    memories = settings.topics.memories
    SyncProducer(make_producer(settings)).produce_all([(memories, user.encode(), codec.encode(e)) for e in events])
    dsn = create_schema(settings.postgres_dsn.split("?")[0], unique("stop"))
    group = unique("stop-")

    def runner() -> ProjectorRunner:
        make = lambda: PostgresProjector(dsn, (memories,), name="postgres")  # noqa: E731
        return ProjectorRunner(make, settings, codec, group_id=group, batch_size=8, apply_ahead=True)

    first = runner()
    run_until(first, lambda: first.applied >= 16)  # stopped part-way
    assert committed(settings, group, memories) <= first.applied  # never past what was applied
    second = runner()  # the successor picks up from the commit and the store's checkpoints
    run_until(second, lambda: committed(settings, group, memories) == len(events))
    extracted = {e.memory_id for e in events if isinstance(e, MemoryExtracted)}
    assert len(postgres_snapshot(dsn, [f"default/{user}"])["memories"]) == len(extracted)  # each once
