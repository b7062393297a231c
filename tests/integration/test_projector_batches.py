"""Batches against the real stores: a batch must leave what applying its events one at a time leaves.

The projectors decide a whole batch at once (PostgreSQL folds it in memory and writes with COPY; Milvus
skips reads the batch makes unnecessary; Neo4j groups statements), so these tests pin the order
semantics: a memory extracted, embedded and activated in one batch ends active; a duplicate never moves a
memory back; how the log is cut into batches changes nothing; a failed batch leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import psycopg
import pytest
from neo4j import Driver
from pymilvus import MilvusClient
from redis import Redis

from memory.contract.events import Event, MemoryActivated, MemoryEmbedded, MemoryExtracted
from memory.contract.positions import LogPosition
from memory.settings import Settings
from projections.base import Positioned
from projections.milvus.projector import MilvusProjector
from projections.neo4j.labels import LABELS
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from projections.redis.projector import RedisProjector
from replay.snapshots import milvus_snapshot, neo4j_snapshot, postgres_snapshot, redis_snapshot
from tests.support import create_schema, make_turn, pipeline_events, unique

TOPIC = "memstream.memories.v1"
TURNS = "memstream.turns.v1"


def fake_embed(texts: list[str]) -> list[np.ndarray]:
    """Seeded unit vectors (one per text), so these tests need no model."""
    vectors = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
        vectors.append(vector / np.linalg.norm(vector))
    return vectors


def positioned(events: Sequence[Any], start: int = 0, topic: str = TOPIC) -> list[Positioned]:
    return [Positioned(e, LogPosition(topic, 0, start + i)) for i, e in enumerate(events)]


def settle() -> None:
    """Served Milvus Lite answers a query issued within ~2 ms of a write returning without that write's rows
    (measured on this stack, any consistency level). A projector remembers its own writes; a restarted one
    comes back after the runner's backoff (>= 0.5 s). Tests that read right after writing wait this out."""
    time.sleep(0.05)


def settled_rows(milvus: MilvusClient, collection: str, user: str) -> list[dict[str, Any]]:
    settle()
    return milvus_snapshot(milvus, collection, [f"default/{user}"])


def chunks(items: list[Positioned], sizes: Sequence[int]) -> Iterator[list[Positioned]]:
    """``items`` cut into consecutive pieces of the given sizes, cycling through them."""
    start, index = 0, 0
    while start < len(items):
        size = sizes[index % len(sizes)]
        yield items[start : start + size]
        start += size
        index += 1


@pytest.fixture
def user() -> str:
    return unique("user-")


@pytest.fixture
def events(user: str) -> list[Event]:
    turns = [
        make_turn(user, "I live in Paris with my sister Nora. I love strong coffee.", "1"),
        make_turn(user, "I work at Lumen Labs as a data engineer.", "2"),
    ]
    return pipeline_events(turns, fake_embed)


@pytest.fixture
def shuffled(events: list[Event]) -> list[Event]:
    """The same events out of order (activation before embedding, links before the memory...)."""
    out = list(events)
    random.Random(5).shuffle(out)
    return out


@pytest.fixture
def schemas(stack_settings: Settings) -> Iterator[Callable[[], str]]:
    """Fresh PostgreSQL schemas (DSNs), dropped afterwards."""
    base = stack_settings.postgres_dsn
    made: list[str] = []

    def make() -> str:
        name = unique("batch")
        made.append(name)
        return create_schema(base, name)

    yield make
    with psycopg.connect(base, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def collections(milvus: MilvusClient) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        made.append(unique("batch_"))
        return made[-1]

    yield make
    for name in made:
        milvus.drop_collection(name)


def _memory_ids(events: Sequence[Event]) -> list[str]:
    return [e.memory_id for e in events if isinstance(e, MemoryExtracted)]


# ── one memory's whole life in one batch ──────────────────────────────────────────────────────────────


def test_postgres_memory_extracted_embedded_and_activated_in_one_batch(
    schemas: Callable[[], str], events: list[Event], user: str
) -> None:
    dsn = schemas()
    turn = make_turn(user, "I live in Paris with my sister Nora. I love strong coffee.", "1")
    projector = PostgresProjector(dsn, (TOPIC, TURNS))
    projector.apply_batch([Positioned(turn, LogPosition(TURNS, 0, 0)), *positioned(events)])

    snapshot = postgres_snapshot(dsn, [f"default/{user}"])
    assert len(snapshot["memories"]) == 3
    assert {m["state"] for m in snapshot["memories"]} == {"active"}
    assert {m["embedding_model"] for m in snapshot["memories"]} == {"all-MiniLM-L6-v2"}
    texts = {m["memory_id"]: m["text"] for m in snapshot["memories"]}
    # The embedded and activated versions carry the text of a memory created earlier in the same batch.
    assert len(snapshot["versions"]) == 9
    assert all(v["text"] == texts[v["memory_id"]] for v in snapshot["versions"])
    # updated_at is when the last transition was recorded: the activation.
    activated = {e.memory_id: e.envelope.recorded_at for e in events if isinstance(e, MemoryActivated)}
    assert all(m["updated_at"] == activated[m["memory_id"]] for m in snapshot["memories"])
    assert [t["turn_id"] for t in snapshot["turns"]] == ["1"]
    assert projector.checkpoints() == {(TOPIC, 0): len(events) - 1, (TURNS, 0): 0}


def test_milvus_and_neo4j_memory_whole_life_in_one_batch(
    milvus: MilvusClient,
    collections: Callable[[], str],
    neo4j_driver: Driver,
    stack_settings: Settings,
    events: list[Event],
    user: str,
) -> None:
    collection = collections()
    MilvusProjector(milvus, collection, 384, (TOPIC,)).apply_batch(positioned(events))
    rows = settled_rows(milvus, collection, user)
    assert sorted(r["memory_id"] for r in rows) == sorted(_memory_ids(events))
    assert {r["state"] for r in rows} == {"active"}

    prefix = unique("B")
    Neo4jProjector(neo4j_driver, stack_settings.neo4j_database, (TOPIC,), label_prefix=prefix).apply_batch(
        positioned(events)
    )
    graph = neo4j_snapshot(neo4j_driver, stack_settings.neo4j_database, [f"default/{user}"], prefix)
    try:
        assert {m["state"] for m in graph["memories"]} == {"active"}
        assert {m["model"] for m in graph["memories"]} == {"all-MiniLM-L6-v2"}
        assert {"LIVES_IN", "HAS_SISTER", "WORKS_AT"} <= {r["p"] for r in graph["relations"]}
    finally:
        _drop_prefix(neo4j_driver, stack_settings.neo4j_database, prefix)


# ── duplicates ────────────────────────────────────────────────────────────────────────────────────────


def test_postgres_duplicate_at_a_new_position_changes_nothing_but_the_checkpoint(
    schemas: Callable[[], str], events: list[Event], user: str
) -> None:
    dsn = schemas()
    projector = PostgresProjector(dsn, (TOPIC,))
    projector.apply_batch(positioned(events))
    before = postgres_snapshot(dsn, [f"default/{user}"])

    # The first memory's events again at new positions (an agent re-sent them), and inside that batch a
    # duplicate of its embedding after its activation: neither may move it back to stored.
    first = _memory_ids(events)[0]
    again = [e for e in events if getattr(e, "memory_id", None) == first]
    embedded = next(e for e in again if isinstance(e, MemoryEmbedded))
    projector.apply_batch(positioned([*again, embedded], start=len(events)))

    assert postgres_snapshot(dsn, [f"default/{user}"]) == before
    assert projector.checkpoints() == {(TOPIC, 0): len(events) + len(again)}


def test_postgres_duplicate_within_one_batch_is_applied_once(
    schemas: Callable[[], str], events: list[Event], user: str
) -> None:
    doubled = [e for event in events for e in (event, event)]  # every event twice, back to back
    single, twice = schemas(), schemas()
    PostgresProjector(single, (TOPIC,)).apply_batch(positioned(events))
    PostgresProjector(twice, (TOPIC,)).apply_batch(positioned(doubled))
    assert postgres_snapshot(twice, [f"default/{user}"]) == postgres_snapshot(single, [f"default/{user}"])


def test_postgres_new_embedding_of_an_active_memory_keeps_it_active(
    schemas: Callable[[], str], events: list[Event], user: str
) -> None:
    dsn = schemas()
    projector = PostgresProjector(dsn, (TOPIC,))
    projector.apply_batch(positioned(events))
    old = next(e for e in events if isinstance(e, MemoryEmbedded))
    reembedded = replace(old, envelope=replace(old.envelope, event_id=unique("re-")), model="other-model")
    projector.apply_batch(positioned([reembedded], start=len(events)))

    memory = next(m for m in postgres_snapshot(dsn, [f"default/{user}"])["memories"] if m["memory_id"] == old.memory_id)
    assert (memory["state"], memory["embedding_model"]) == ("active", "other-model")


def test_milvus_duplicate_embedding_never_regresses_even_when_nothing_is_remembered(
    milvus: MilvusClient, collections: Callable[[], str], events: list[Event], user: str
) -> None:
    collection = collections()
    MilvusProjector(milvus, collection, 384, (TOPIC,)).apply_batch(positioned(events))
    before = settled_rows(milvus, collection, user)
    embedded = [e for e in events if isinstance(e, MemoryEmbedded)]
    # A new projector (nothing remembered: it must read the rows) sees the embeddings again, alone...
    MilvusProjector(milvus, collection, 384, (TOPIC,)).apply_batch(positioned(embedded, start=100))
    assert settled_rows(milvus, collection, user) == before
    # ...and with an activation in between, which lets the batch decide without reading.
    first = _memory_ids(events)[0]
    own = [e for e in events if isinstance(e, MemoryEmbedded | MemoryActivated) and e.memory_id == first]
    MilvusProjector(milvus, collection, 384, (TOPIC,)).apply_batch(positioned([*own, own[0]], start=200))
    assert settled_rows(milvus, collection, user) == before


# ── one call equals the same events cut into several calls ────────────────────────────────────────────


@pytest.mark.parametrize("order", ["log", "shuffled"])
def test_postgres_split_batches_equal_one_batch(
    schemas: Callable[[], str], events: list[Event], shuffled: list[Event], user: str, order: str
) -> None:
    log = events if order == "log" else shuffled
    turn = make_turn(user, "I live in Paris with my sister Nora. I love strong coffee.", "1")
    items = [*positioned(log), Positioned(turn, LogPosition(TURNS, 0, 0))]
    whole = schemas()
    PostgresProjector(whole, (TOPIC, TURNS)).apply_batch(items)
    expected = postgres_snapshot(whole, [f"default/{user}"])
    for sizes in ([1], [2, 5], [4, 1, 3]):
        dsn = schemas()
        projector = PostgresProjector(dsn, (TOPIC, TURNS))
        for piece in chunks(items, sizes):
            projector.apply_batch(piece)
        assert postgres_snapshot(dsn, [f"default/{user}"]) == expected, f"sizes {sizes}"
        assert projector.checkpoints() == {(TOPIC, 0): len(log) - 1, (TURNS, 0): 0}


@pytest.mark.parametrize("order", ["log", "shuffled"])
def test_milvus_split_batches_equal_one_batch(
    milvus: MilvusClient,
    collections: Callable[[], str],
    events: list[Event],
    shuffled: list[Event],
    user: str,
    order: str,
) -> None:
    items = positioned(events if order == "log" else shuffled)
    whole = collections()
    MilvusProjector(milvus, whole, 384, (TOPIC,)).apply_batch(items)
    expected = settled_rows(milvus, whole, user)
    assert len(expected) == 3
    for sizes in ([1], [3, 2]):
        for fresh_each_call in (False, True):  # True: nothing remembered between calls, rows are read
            collection = collections()
            projector = MilvusProjector(milvus, collection, 384, (TOPIC,))
            for piece in chunks(items, sizes):
                if fresh_each_call:
                    settle()
                    projector = MilvusProjector(milvus, collection, 384, (TOPIC,))
                projector.apply_batch(piece)
            got = settled_rows(milvus, collection, user)
            assert got == expected, f"sizes {sizes}, fresh projector each call: {fresh_each_call}"


@pytest.mark.parametrize("order", ["log", "shuffled"])
def test_neo4j_and_redis_split_batches_equal_one_batch(
    neo4j_driver: Driver,
    redis_client: Redis,
    stack_settings: Settings,
    events: list[Event],
    shuffled: list[Event],
    user: str,
    order: str,
) -> None:
    items = positioned(events if order == "log" else shuffled)
    database, keys = stack_settings.neo4j_database, [f"default/{user}"]
    prefixes: list[str] = []

    def project(pieces: list[list[Positioned]]) -> tuple[Any, Any]:
        prefixes.append(unique("B"))
        prefix = prefixes[-1]
        graph = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
        cache = RedisProjector(redis_client, (TOPIC,), prefix=f"{prefix}:")
        for piece in pieces:
            graph.apply_batch(piece)
            cache.apply_batch(piece)
        return (
            neo4j_snapshot(neo4j_driver, database, keys, prefix),
            redis_snapshot(redis_client, keys, f"{prefix}:"),
        )

    try:
        expected = project([items])
        assert len(expected[0]["memories"]) == 3
        for sizes in ([1], [2, 5], [4, 1, 3]):
            assert project(list(chunks(items, sizes))) == expected, f"sizes {sizes}"
    finally:
        for prefix in prefixes:
            _drop_prefix(neo4j_driver, database, prefix)
            for key in redis_client.scan_iter(match=f"{prefix}:*"):
                redis_client.delete(key)


# ── a failed batch leaves nothing ─────────────────────────────────────────────────────────────────────


def test_postgres_failure_mid_batch_leaves_neither_rows_nor_checkpoint(
    schemas: Callable[[], str], events: list[Event], user: str
) -> None:
    dsn = schemas()
    name = unique("pg-")
    projector = PostgresProjector(dsn, (TOPIC, TURNS), name=name)
    extracted = [e for e in events if isinstance(e, MemoryExtracted)]
    projector.apply_batch(positioned(extracted))
    before = postgres_snapshot(dsn, [f"default/{user}"])
    checkpoint = projector.checkpoints()

    # A turn, embeddings and activations that all apply — then an embedding PostgreSQL refuses (a NUL
    # byte), so the batch fails after it has written the turn and the versions inside its transaction.
    turn = make_turn(user, "Remember that my flight is on Friday.", "9")
    rest = [e for e in events if isinstance(e, MemoryEmbedded | MemoryActivated)]
    bad = replace(rest[0], envelope=replace(rest[0].envelope, event_id=unique("bad-")), model="bad\x00model")
    batch = [
        Positioned(turn, LogPosition(TURNS, 0, 0)),
        *positioned([*rest, bad], start=len(extracted)),
    ]
    with pytest.raises(psycopg.Error):
        projector.apply_batch(batch)

    assert postgres_snapshot(dsn, [f"default/{user}"]) == before
    assert projector.checkpoints() == checkpoint
    assert PostgresProjector(dsn, (TOPIC, TURNS), name=name).checkpoints() == checkpoint

    # The connection is usable again and the batch without the bad event applies in full.
    projector.apply_batch(batch[:-1])
    after = postgres_snapshot(dsn, [f"default/{user}"])
    assert {m["state"] for m in after["memories"]} == {"active"}
    assert [t["turn_id"] for t in after["turns"]] == ["9"]


def _drop_prefix(driver: Driver, database: str, prefix: str) -> None:
    for label in LABELS:
        driver.execute_query(f"MATCH (n:{prefix}{label}) DETACH DELETE n", database_=database)
    records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name", database_=database)
    for record in records:
        if record["name"].startswith(prefix.lower()):
            driver.execute_query(f"DROP CONSTRAINT {record['name']} IF EXISTS", database_=database)
    records, _, _ = driver.execute_query("SHOW INDEXES YIELD name RETURN name", database_=database)
    for record in records:
        if record["name"].startswith(prefix.lower()):
            driver.execute_query(f"DROP INDEX {record['name']} IF EXISTS", database_=database)
