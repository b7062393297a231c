"""The erasure proof end to end: a user projected into all four stores, erased through every projector, and
``holdings`` (and ``memstream audit --erased``) reporting that nothing of them is left — while another user's
holdings do not move."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from neo4j import Driver
from pymilvus import MilvusClient
from redis import Redis

from api.cache import SearchCache
from memory.contract.events import Event
from memory.contract.positions import LogPosition
from memory.settings import Settings
from memstream_cli.main import main
from projections.base import Positioned
from projections.milvus.projector import MilvusProjector
from projections.neo4j.labels import LABELS
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.redis.projector import RedisProjector
from replay.erasure import holdings
from tests.integration.memory_life import DIM, Life, whole_life
from tests.support import make_turn, unique

ZERO = {
    "postgres.memories": 0,
    "postgres.memory_versions": 0,
    "postgres.memory_accesses": 0,
    "postgres.memory_lineage": 0,
    "postgres.conversation_turns": 0,
    "postgres.conversation_sessions": 0,
    "postgres.core_blocks": 0,
    "postgres.core_block_versions": 0,
    "milvus.rows": 0,
    "neo4j.nodes": 0,
    "redis.keys": 0,
}


class Stores:
    """One projector per store, fed at consecutive positions of the memories and turns topics."""

    def __init__(self, settings: Settings, milvus: MilvusClient, driver: Driver, redis: Redis):
        memories, turns = settings.topics.memories, settings.topics.turns
        self.memories, self.turns = memories, turns
        self.projectors = [
            PostgresProjector(settings.postgres_dsn, (turns, memories)),
            MilvusProjector(milvus, settings.milvus_collection, DIM, (memories,)),
            Neo4jProjector(driver, settings.neo4j_database, (memories,), label_prefix=settings.neo4j_label_prefix),
            RedisProjector(redis, (memories,), prefix=settings.redis_prefix),
        ]
        self.offsets = {memories: 0, turns: 0}

    def apply(self, events: list[Event], topic: str | None = None) -> None:
        topic = topic or self.memories
        items = [Positioned(e, LogPosition(topic, 0, self.offsets[topic] + i)) for i, e in enumerate(events)]
        self.offsets[topic] += len(events)
        for projector in self.projectors:
            projector.apply_batch([i for i in items if topic in projector.topics])

    def close(self) -> None:
        for projector in self.projectors:
            projector.close()


@pytest.fixture
def stores(settings: Settings, milvus: MilvusClient, neo4j_driver: Driver, redis_client: Redis) -> Iterator[Stores]:
    made = Stores(settings, milvus, neo4j_driver, redis_client)
    yield made
    made.close()
    milvus.drop_collection(settings.milvus_collection)
    for label in LABELS:
        neo4j_driver.execute_query(
            f"MATCH (n:{settings.neo4j_label_prefix}{label}) DETACH DELETE n", database_=settings.neo4j_database
        )
    for kind, plural in (("CONSTRAINT", "CONSTRAINTS"), ("INDEX", "INDEXES")):
        records, _, _ = neo4j_driver.execute_query(
            f"SHOW {plural} YIELD name RETURN name", database_=settings.neo4j_database
        )
        for record in records:
            if record["name"].startswith(settings.neo4j_label_prefix.lower()):
                neo4j_driver.execute_query(f"DROP {kind} {record['name']} IF EXISTS", database_=settings.neo4j_database)
    for key in redis_client.scan_iter(match=f"{settings.redis_prefix}*"):
        redis_client.delete(key)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
        if row and row[0] and row[0] != "public":  # the test's own schema (tests.support.isolated_settings)
            conn.execute(f'DROP SCHEMA IF EXISTS "{row[0]}" CASCADE')


def project_user(stores: Stores, redis: Redis, settings: Settings, life: Life) -> None:
    """Turns, the whole synthetic life (accesses, lineage, a forgotten memory...), and two cached searches."""
    user = life.scope.user_id
    stores.apply([make_turn(user, "I live in Berlin.", "1"), make_turn(user, "I like tea.", "2")], stores.turns)
    stores.apply(whole_life(life))
    cache = SearchCache(None, settings.redis_prefix)  # type: ignore[arg-type]  # key() needs no client
    for request in (b"where do I live", b"what do I drink"):
        redis.set(cache.key(life.key, "0123456789abcdef", request), b"cached result")


def audit(monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str) -> int:
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    return main(["audit", "--erased", *args])


def test_erased_user_leaves_nothing_in_any_store_and_others_keep_everything(
    stores: Stores,
    settings: Settings,
    redis_client: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice, bob = Life(unique("user-")), Life(unique("user-"))
    project_user(stores, redis_client, settings, alice)
    project_user(stores, redis_client, settings, bob)

    before = holdings(settings, "default", alice.scope.user_id)
    bob_before = holdings(settings, "default", bob.scope.user_id)
    # Six memories (the seventh was forgotten), two turns, one access; in Neo4j the user, six memories, five
    # entities and eleven topics ("Alice" opens each sentence: "alic" and "alice"); in Redis the generation
    # and two cached searches.
    expected_exact = {
        "postgres.memories": 6,
        "postgres.conversation_turns": 2,
        "postgres.conversation_sessions": 1,
        "postgres.memory_accesses": 1,
        "milvus.rows": 6,
        "neo4j.nodes": 23,
        "redis.keys": 3,
    }
    assert {k: before[k] for k in expected_exact} == expected_exact
    assert before["postgres.memory_versions"] > 0 and before["postgres.memory_lineage"] > 0
    assert bob_before == before  # the same life

    assert audit(monkeypatch, settings, "--user-id", alice.scope.user_id) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"live": before}

    stores.apply([alice.erased()])

    assert holdings(settings, "default", alice.scope.user_id) == ZERO
    # Named ids are checked too, wherever they are: hers are gone, and one of Bob's is found.
    assert holdings(settings, "default", alice.scope.user_id, [alice.memory(k) for k in range(7)]) == ZERO
    found = holdings(settings, "default", alice.scope.user_id, [bob.memory(0)])
    assert {k: v for k, v in found.items() if v} == {
        "postgres.memories": 1,
        "postgres.memory_versions": 4,  # extracted, embedded, activated, superseded
        "postgres.memory_lineage": 1,  # 1 supersedes 0
        "milvus.rows": 1,
        "neo4j.nodes": 1,
    }
    assert holdings(settings, "default", bob.scope.user_id) == bob_before

    args = ("--user-id", alice.scope.user_id, "--app-id", "default", "--memory-id", alice.memory(0), alice.memory(1))
    assert audit(monkeypatch, settings, *args) == 0
    assert json.loads(capsys.readouterr().out) == {"live": ZERO}
    assert audit(monkeypatch, settings, "--user-id", bob.scope.user_id) == 1
