"""Through the real broker: the live projection equals a rebuild from offset 0; poison goes to dead letters."""

from __future__ import annotations

import threading
from dataclasses import replace

from confluent_kafka import Consumer
from neo4j import Driver
from pymilvus import MilvusClient
from redis import Redis

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import DeadLetter
from memory.settings import Settings
from projections.milvus.projector import MilvusProjector
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.redis.projector import RedisProjector
from projections.runner import ProjectorRunner
from replay.snapshots import milvus_snapshot, neo4j_snapshot, postgres_snapshot, redis_snapshot
from tests.support import create_schema, make_turn, pipeline_events, unique, wait_until


def run_until(runner: ProjectorRunner, done: callable) -> None:  # type: ignore[valid-type]
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        wait_until(done, timeout=90, what=f"{runner.projector.name} to catch up")
    finally:
        runner.stop_event.set()
        thread.join(timeout=30)


def test_rebuild_from_offset_zero_equals_the_live_state(
    settings: Settings,
    neo4j_driver: Driver,
    milvus: MilvusClient,
    redis_client: Redis,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    ensure_topics(settings)
    codec = Codec()
    users = [unique("user-") for _ in range(3)]
    turns = [
        make_turn(user, text, str(i))
        for user in users
        for i, text in enumerate(
            ["I live in Paris with my sister Nora.", "I love hiking in the Alps every summer.", "I work at Lumen Labs."]
        )
    ]
    events = pipeline_events(turns, embedder.embed)
    producer = SyncProducer(make_producer(settings))
    memories = settings.topics.memories
    producer.produce_all([(memories, e.scope.key.encode(), codec.encode(e)) for e in events])
    # The same events again, as an at-least-once agent would after a crash: must change nothing.
    producer.produce_all([(memories, e.scope.key.encode(), codec.encode(e)) for e in events[:10]])
    keys = [f"default/{u}" for u in users]
    total = len(events) + 10

    def project(tag: str, dsn: str, collection: str, prefix: str) -> dict:
        factories = {
            "postgres": lambda: PostgresProjector(dsn, (memories,), name="postgres"),
            "milvus": lambda: MilvusProjector(milvus, collection, 384, (memories,)),
            "neo4j": lambda: Neo4jProjector(neo4j_driver, settings.neo4j_database, (memories,), label_prefix=prefix),
            "redis": lambda: RedisProjector(redis_client, (memories,), prefix=f"{prefix}:"),
        }
        for name, factory in factories.items():
            runner = ProjectorRunner(factory, settings, codec, group_id=f"{tag}-{name}-{unique('g')}")
            run_until(runner, lambda r=runner: r.applied >= total)
        return {
            "postgres": postgres_snapshot(dsn, keys),
            "milvus": milvus_snapshot(milvus, collection, keys),
            "neo4j": neo4j_snapshot(neo4j_driver, settings.neo4j_database, keys, prefix),
            "redis": redis_snapshot(redis_client, keys, f"{prefix}:"),
        }

    live = project("live", settings.postgres_dsn, settings.milvus_collection, unique("L"))
    rebuilt_dsn = create_schema(settings.postgres_dsn.split("?")[0], unique("rebuild"))
    rebuilt = project("rebuild", rebuilt_dsn, settings.milvus_collection + "_b", unique("R"))
    try:
        assert len(live["postgres"]["memories"]) == 9
        assert len(live["milvus"]) == 9
        assert len(live["neo4j"]["memories"]) == 9
        assert all(v is not None for v in live["redis"].values())
        for store in live:
            assert rebuilt[store] == live[store], f"{store} differs after rebuild"
    finally:
        milvus.drop_collection(settings.milvus_collection)
        milvus.drop_collection(settings.milvus_collection + "_b")


def test_poison_message_is_dead_lettered_and_the_next_one_applied(settings: Settings, embedder) -> None:  # type: ignore[no-untyped-def]
    ensure_topics(settings)
    codec = Codec()
    user = unique("user-")
    good = pipeline_events([make_turn(user, "I adopted a cat named Miso.", "1")], embedder.embed)
    producer = SyncProducer(make_producer(settings))
    memories = settings.topics.memories
    key = f"default/{user}".encode()
    producer.produce_all([(memories, key, b"\x00not avro at all"), *[(memories, key, codec.encode(e)) for e in good]])

    runner = ProjectorRunner(
        lambda: PostgresProjector(settings.postgres_dsn, (memories,), name="postgres"), settings, codec
    )
    run_until(runner, lambda: runner.applied >= len(good) and runner.dead_lettered >= 1)
    assert len(postgres_snapshot(settings.postgres_dsn, [f"default/{user}"])["memories"]) == 1

    letters = consume_all(settings, settings.topics.deadletter, codec)
    assert len(letters) == 1
    letter = letters[0]
    assert isinstance(letter, DeadLetter)
    assert "marker" in letter.reason
    assert letter.payload == b"\x00not avro at all"
    assert (letter.origin_topic, letter.origin_offset) == (memories, 0)
    assert letter.component == "projection.postgres"


def consume_all(settings: Settings, topic: str, codec: Codec, timeout: float = 10.0) -> list:
    consumer = Consumer(client_config(settings, **{"group.id": unique("reader-"), "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    found: list = []
    try:
        wait_until(lambda: _drain(consumer, codec, found) or found, timeout=timeout, what=f"messages on {topic}")
        _drain(consumer, codec, found)
    finally:
        consumer.close()
    return found


def _drain(consumer: Consumer, codec: Codec, found: list) -> bool:
    for msg in consumer.consume(num_messages=100, timeout=1.0):
        if msg.error() is None:
            found.append(codec.decode(msg.value()))
    return False


__all__ = ["replace"]
