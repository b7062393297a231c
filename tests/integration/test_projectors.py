"""Each projector against its real store: applying twice is applying once; checkpoints skip the applied."""

from __future__ import annotations

import threading

import psycopg
import pytest
from neo4j import Driver
from pymilvus import MilvusClient
from redis import Redis

from memory.contract.events import EntitiesLinked, MemoryActivated, MemoryExtracted
from memory.contract.positions import LogPosition
from memory.settings import Settings
from projections.base import Positioned
from projections.milvus.projector import MilvusProjector
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.redis.projector import RedisProjector
from replay.snapshots import milvus_snapshot, neo4j_snapshot, postgres_snapshot, redis_snapshot
from tests.support import isolated_settings, make_turn, pipeline_events, unique

TOPIC = "memstream.memories.v1"


def positioned(events: list, topic: str = TOPIC, start: int = 0) -> list[Positioned]:
    return [Positioned(e, LogPosition(topic, 0, start + i)) for i, e in enumerate(events)]


@pytest.fixture
def user() -> str:
    return unique("user-")


@pytest.fixture
def events(user: str, embedder) -> list:  # type: ignore[no-untyped-def]
    turns = [
        make_turn(user, "I live in Paris with my sister Nora. I love strong coffee.", "1"),
        make_turn(user, "I work at Lumen Labs as a data engineer.", "2"),
    ]
    return pipeline_events(turns, embedder.embed)


def test_postgres_applies_once_and_keeps_history(settings: Settings, events: list, user: str) -> None:
    projector = PostgresProjector(settings.postgres_dsn, (TOPIC,), name=unique("pg-"))
    items = positioned(events)
    projector.apply_batch(items)
    first = postgres_snapshot(settings.postgres_dsn, [f"default/{user}"])
    projector.apply_batch(items)  # same positions: skipped by the checkpoint
    fresh = PostgresProjector(settings.postgres_dsn, (TOPIC,), name=unique("pg-"))
    fresh.apply_batch(positioned(events, start=100))  # same events, new positions: skipped by event id
    assert postgres_snapshot(settings.postgres_dsn, [f"default/{user}"]) == first

    memories = first["memories"]
    assert len(memories) == 3
    assert {m["state"] for m in memories} == {"active"}
    assert all(m["embedding_model"] == "all-MiniLM-L6-v2" for m in memories)
    # Each memory: extracted, embedded, activated.
    assert len(first["versions"]) == 9
    assert projector.checkpoints() == {(TOPIC, 0): len(events) - 1}


def start_together(dsn: str, count: int) -> tuple[list[PostgresProjector], list[BaseException]]:
    """``count`` projectors built at the same moment on ``dsn``, each in its own thread: those built, the errors."""
    barrier = threading.Barrier(count)
    started: list[PostgresProjector] = []
    failed: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            started.append(PostgresProjector(dsn, (TOPIC,), name=unique("pg-")))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return started, failed


def test_postgres_projectors_starting_at_once_on_a_fresh_schema_all_start(stack_settings: Settings) -> None:
    """Projector processes start together (memstream run --projectors 2): each creates the tables, and PostgreSQL's
    IF NOT EXISTS alone would fail all but one on pg_type's unique index."""
    for _ in range(5):  # a fresh schema each round: the race is at creation
        started, failed = start_together(isolated_settings(stack_settings).postgres_dsn, 3)
        for projector in started:
            projector.close()
        assert not failed, failed
        assert len(started) == 3


def test_postgres_rows_and_checkpoint_commit_together(settings: Settings, events: list, user: str) -> None:
    name = unique("pg-")
    projector = PostgresProjector(settings.postgres_dsn, (TOPIC,), name=name)
    broken = [*positioned(events[:3]), Positioned(object(), LogPosition(TOPIC, 0, 3))]
    projector._apply = _raise_on_unknown(projector._apply)  # type: ignore[method-assign]
    with pytest.raises(TypeError):
        projector.apply_batch(broken)
    assert postgres_snapshot(settings.postgres_dsn, [f"default/{user}"])["memories"] == []
    assert PostgresProjector(settings.postgres_dsn, (TOPIC,), name=name).checkpoints() == {}


def _raise_on_unknown(apply):  # type: ignore[no-untyped-def]
    def wrapped(cur, item):  # type: ignore[no-untyped-def]
        if not hasattr(item.event, "envelope"):
            raise TypeError("not an event")
        return apply(cur, item)

    return wrapped


def test_postgres_logs_the_conversation(settings: Settings, user: str) -> None:
    projector = PostgresProjector(settings.postgres_dsn, ("turns",), name=unique("pg-"))
    turn = make_turn(user, "Remember that my flight is on Friday.", "9")
    projector.apply_batch([Positioned(turn, LogPosition("turns", 0, 0))])
    projector.apply_batch([Positioned(turn, LogPosition("turns", 0, 1))])
    with psycopg.connect(settings.postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT text FROM conversation_turns WHERE user_id = %s AND tsv @@ plainto_tsquery('english', 'flight')",
            (user,),
        ).fetchall()
    assert rows == [("Remember that my flight is on Friday.",)]


def test_milvus_upserts_are_idempotent_and_scoped(
    settings: Settings, milvus: MilvusClient, events: list, user: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    projector = MilvusProjector(milvus, settings.milvus_collection, 384, (TOPIC,))
    try:
        projector.apply_batch(positioned(events))
        first = milvus_snapshot(milvus, settings.milvus_collection, [f"default/{user}"])
        projector.apply_batch(positioned(events))
        assert milvus_snapshot(milvus, settings.milvus_collection, [f"default/{user}"]) == first
        assert len(first) == 3 and {r["state"] for r in first} == {"active"}

        # A late duplicate MemoryEmbedded must not move an active memory back to stored.
        late = [e for e in events if type(e).__name__ == "MemoryEmbedded"][:1]
        projector.apply_batch(positioned(late))
        assert {r["state"] for r in milvus_snapshot(milvus, settings.milvus_collection, [f"default/{user}"])} == {
            "active"
        }

        query = embedder.embed(["Where does she live?"])[0].tolist()
        hits = milvus.search(
            settings.milvus_collection,
            data=[query],
            filter=f'user_id == "{user}"',
            limit=1,
            output_fields=["memory_id"],
        )
        paris = next(e.memory_id for e in events if isinstance(e, MemoryExtracted) and "Paris" in e.text)
        assert hits[0][0]["id"] == paris
        other = milvus.search(settings.milvus_collection, data=[query], filter='user_id == "someone-else"', limit=5)
        assert len(other[0]) == 0
    finally:
        milvus.drop_collection(settings.milvus_collection)


def test_neo4j_merges_once_with_entities_and_relations(
    neo4j_driver: Driver, stack_settings: Settings, events: list, user: str
) -> None:
    prefix = unique("T")
    projector = Neo4jProjector(neo4j_driver, stack_settings.neo4j_database, (TOPIC,), name="neo4j", label_prefix=prefix)
    projector.apply_batch(positioned(events))
    first = neo4j_snapshot(neo4j_driver, stack_settings.neo4j_database, [f"default/{user}"], prefix)
    again = Neo4jProjector(neo4j_driver, stack_settings.neo4j_database, (TOPIC,), name="other", label_prefix=prefix)
    again.apply_batch(positioned(events))  # no checkpoint under that name: every MERGE runs again
    assert neo4j_snapshot(neo4j_driver, stack_settings.neo4j_database, [f"default/{user}"], prefix) == first

    assert len(first["memories"]) == 3
    assert {m["state"] for m in first["memories"]} == {"active"}
    names = {e["name"] for e in first["entities"]}
    assert {"Alice", "Paris", "Nora", "Lumen Labs"} <= names
    predicates = {r["p"] for r in first["relations"]}
    assert {"LIVES_IN", "HAS_SISTER", "WORKS_AT"} <= predicates
    linked = [e for e in events if isinstance(e, EntitiesLinked)]
    assert all(m["entity_ids"] for m in first["memories"]) and linked
    assert projector.checkpoints() == {(TOPIC, 0): len(events) - 1}


def test_redis_generation_is_the_latest_offset_and_idempotent(redis_client: Redis, events: list, user: str) -> None:
    prefix = unique("test:") + ":"
    projector = RedisProjector(redis_client, (TOPIC,), prefix=prefix)
    items = positioned(events)
    projector.apply_batch(items[:3])
    assert projector.generation(f"default/{user}") == 2
    projector.apply_batch(items)
    last_activation = max(i.position.offset for i in items if isinstance(i.event, MemoryActivated))
    assert projector.generation(f"default/{user}") == last_activation
    snapshot = redis_snapshot(redis_client, [f"default/{user}"], prefix)
    RedisProjector(redis_client, (TOPIC,), prefix=prefix, name="again").apply_batch(items)
    assert redis_snapshot(redis_client, [f"default/{user}"], prefix) == snapshot
