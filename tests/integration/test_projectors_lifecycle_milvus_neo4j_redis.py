"""The lifecycle events in Milvus, Neo4j and Redis, against the real stores.

For each store: every event type leaves exactly the expected state and fields; applying twice (at the same
positions, and the same events at new positions where the store keys by id) is applying once; stale and
illegal transitions change nothing; MemoryForgotten leaves nothing of the memory; UserErased leaves nothing
of the user and touches no one else; a whole life in one batch equals one event at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from neo4j import Driver
from pymilvus import MilvusClient
from redis import Redis

from api.cache import SearchCache
from memory.contract.events import Event, MemoryEmbedded, MemorySuperseded
from memory.retrieval.topics import topic_words
from memory.settings import Settings
from projections.base import Positioned
from projections.cache_epochs import changes_results
from projections.milvus.projector import MilvusProjector
from projections.neo4j.labels import LABELS, namespaced
from projections.neo4j.projector import Neo4jProjector
from projections.redis.projector import RedisProjector
from replay.snapshots import milvus_snapshot, neo4j_snapshot, redis_snapshot
from tests.integration.memory_life import DIM, MODEL, TOPIC, Life, positioned, vector, whole_life
from tests.support import unique

ACTIVE, STORED, ARCHIVED, DECAYING = "active", "stored", "archived", "decaying"


@pytest.fixture
def life() -> Life:
    return Life(unique("user-"))


@pytest.fixture
def collections(milvus: MilvusClient) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        made.append(unique("life_"))
        return made[-1]

    yield make
    for name in made:
        milvus.drop_collection(name)


@pytest.fixture
def graphs(neo4j_driver: Driver, stack_settings: Settings) -> Iterator[Callable[[], str]]:
    """Fresh Neo4j label prefixes, removed afterwards with their constraints and indexes."""
    made: list[str] = []

    def make() -> str:
        made.append(unique("L"))
        return made[-1]

    yield make
    database = stack_settings.neo4j_database
    for prefix in made:
        for label in LABELS:
            neo4j_driver.execute_query(f"MATCH (n:{prefix}{label}) DETACH DELETE n", database_=database)
        for kind in ("CONSTRAINT", "INDEX"):  # constraints first: dropping one drops its backing index
            plural = "CONSTRAINTS" if kind == "CONSTRAINT" else "INDEXES"
            records, _, _ = neo4j_driver.execute_query(f"SHOW {plural} YIELD name RETURN name", database_=database)
            for record in records:
                if record["name"].startswith(prefix.lower()):
                    neo4j_driver.execute_query(f"DROP {kind} {record['name']} IF EXISTS", database_=database)


@pytest.fixture
def caches(redis_client: Redis) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        made.append(unique("test:life") + ":")
        return made[-1]

    yield make
    for prefix in made:
        for key in redis_client.scan_iter(match=f"{prefix}*"):
            redis_client.delete(key)


def one_at_a_time(projector: Any, items: Sequence[Positioned]) -> None:
    for item in items:
        projector.apply_batch([item])


def chunks(items: list[Positioned], sizes: Sequence[int]) -> Iterator[list[Positioned]]:
    start, index = 0, 0
    while start < len(items):
        size = sizes[index % len(sizes)]
        yield items[start : start + size]
        start += size
        index += 1


def first(events: Sequence[Event], kind: type, memory_id: str) -> Any:
    return next(e for e in events if isinstance(e, kind) and getattr(e, "memory_id", None) == memory_id)


# ── Milvus ────────────────────────────────────────────────────────────────────────────────────────────


def rows(milvus: MilvusClient, collection: str, *lives: Life) -> dict[str, dict[str, Any]]:
    """What Milvus holds for these users, once Milvus Lite shows the writes: its reads lag its writes by a few
    milliseconds, and deletes by more on a loaded machine, so read until two reads 0.1 s apart agree."""
    keys = [life.key for life in lives]
    deadline = time.monotonic() + 10
    time.sleep(0.05)
    last = {r["memory_id"]: r for r in milvus_snapshot(milvus, collection, keys)}
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = {r["memory_id"]: r for r in milvus_snapshot(milvus, collection, keys)}
        if now == last:
            return now
        last = now
    return last


def states(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {memory_id: row["state"] for memory_id, row in found.items()}


def rounded(values: Sequence[float]) -> list[float]:
    return [round(float(x), 5) for x in values]


def test_milvus_rows_follow_every_lifecycle_event(
    milvus: MilvusClient, collections: Callable[[], str], life: Life
) -> None:
    collection = collections()
    events = whole_life(life)
    one_at_a_time(MilvusProjector(milvus, collection, DIM, (TOPIC,)), positioned(events))

    found = rows(milvus, collection, life)
    m = life.memory
    # 0 stays although superseded (searches filter on PostgreSQL's valid_to); 6 was forgotten.
    assert states(found) == {m(0): ACTIVE, m(1): ACTIVE, m(2): DECAYING, m(3): ACTIVE, m(4): ARCHIVED, m(5): ACTIVE}
    # The re-embedding after the update replaced the vector, kept the state and the memory's valid time.
    first_embedding = first(events, MemoryEmbedded, m(1))
    assert found[m(1)]["vector"] == rounded(vector(m(1), 1))
    assert found[m(1)]["occurred_at"] == int(first_embedding.envelope.occurred_at.timestamp() * 1000)
    assert found[m(2)]["vector"] == rounded(vector(m(2)))
    assert {r["model"] for r in found.values()} == {MODEL}


def test_milvus_whole_life_in_one_batch_equals_one_at_a_time(
    milvus: MilvusClient, collections: Callable[[], str], life: Life
) -> None:
    items = positioned(whole_life(life))
    single = collections()
    one_at_a_time(MilvusProjector(milvus, single, DIM, (TOPIC,)), items)
    expected = rows(milvus, single, life)
    assert len(expected) == 6
    for sizes in ([len(items)], [4, 1, 6]):
        for fresh_each_call in (False, True):  # True: nothing remembered between calls, rows are read
            collection = collections()
            projector = MilvusProjector(milvus, collection, DIM, (TOPIC,))
            for piece in chunks(items, sizes):
                if fresh_each_call:
                    time.sleep(0.05)
                    projector = MilvusProjector(milvus, collection, DIM, (TOPIC,))
                projector.apply_batch(piece)
            assert rows(milvus, collection, life) == expected, f"sizes {sizes}, fresh: {fresh_each_call}"


def test_milvus_applied_twice_changes_nothing(milvus: MilvusClient, collections: Callable[[], str], life: Life) -> None:
    collection = collections()
    events = whole_life(life)
    projector = MilvusProjector(milvus, collection, DIM, (TOPIC,))
    projector.apply_batch(positioned(events))
    before = rows(milvus, collection, life)
    projector.apply_batch(positioned(events))  # redelivered: Milvus keeps no checkpoint, the rows decide
    assert rows(milvus, collection, life) == before
    projector.apply_batch(positioned(events, start=len(events)))  # the same events at new positions
    assert rows(milvus, collection, life) == before
    MilvusProjector(milvus, collection, DIM, (TOPIC,)).apply_batch(positioned(events, start=2 * len(events)))
    assert rows(milvus, collection, life) == before


def stale_setup(life: Life) -> list[Event]:
    """0 active, 1 archived (consolidated into 5), 2 stored (never activated), 3 decaying."""
    return [
        *life.active(0, "Alice lives in Paris"),
        *life.active(1, "Alice hikes"),
        life.consolidating(1, summary=5),
        life.archived(1, summary=5),
        life.extracted(2, "Alice likes tea"),
        life.embedded(2),
        *life.active(3, "Alice owns a boat"),
        life.decayed(3, 0.25, "decaying"),
    ]


def stale_events(life: Life, setup: list[Event]) -> list[Event]:
    """Each asks for a transition the lifecycle forbids from where its memory is, or repeats one."""
    return [
        life.archived(0, summary=5),  # active → archived skips consolidating
        life.recalled(0),  # only an archived memory is recalled
        life.activated(1),  # archived → active must go through recalled
        life.decayed(1, 0.125, "decaying"),  # archived memories do not decay
        life.consolidating(1, summary=5),  # archived → consolidating
        life.archived(2, summary=5),  # stored → archived
        life.decayed(2, 0.125, "decaying"),  # stored → decaying
        life.recalled(3),  # decaying → recalled
        life.rescued(0, 0.5),  # only a decaying memory is rescued: active stays active
        life.rescued(1, 0.125),  # archived → active must go through recalled
        life.rescued(2, 0.125),  # stored → active is an activation, not a rescue
        *setup,  # everything again: the embeddings must not move anything back to stored
    ]


def test_milvus_stale_and_illegal_transitions_change_nothing(
    milvus: MilvusClient, collections: Callable[[], str], life: Life
) -> None:
    collection = collections()
    setup = stale_setup(life)
    projector = MilvusProjector(milvus, collection, DIM, (TOPIC,))
    projector.apply_batch(positioned(setup))
    before = rows(milvus, collection, life)
    m = life.memory
    assert states(before) == {m(0): ACTIVE, m(1): ARCHIVED, m(2): STORED, m(3): DECAYING}

    stale = positioned(stale_events(life, setup), start=len(setup))
    projector.apply_batch(stale)
    assert rows(milvus, collection, life) == before
    fresh = MilvusProjector(milvus, collection, DIM, (TOPIC,))  # nothing remembered: it reads the rows
    one_at_a_time(fresh, stale)
    assert rows(milvus, collection, life) == before


def test_milvus_forgotten_deletes_the_row_from_any_state(
    milvus: MilvusClient, collections: Callable[[], str], life: Life
) -> None:
    collection = collections()
    setup = [*stale_setup(life), life.extracted(4, "Alice has no vector yet"), *life.active(6, "Alice stays")]
    projector = MilvusProjector(milvus, collection, DIM, (TOPIC,))
    projector.apply_batch(positioned(setup))
    m = life.memory

    forget = [life.forgotten(k) for k in (0, 1, 2, 3, 4)]  # active, archived, stored, decaying, no row at all
    projector.apply_batch(positioned(forget, start=100))
    assert states(rows(milvus, collection, life)) == {m(6): ACTIVE}

    # Late events for forgotten memories find no row (the projector forgot its copies) and make none.
    late = [life.decayed(0, 0.125, "decaying"), life.activated(2), life.recalled(1), life.forgotten(0)]
    projector.apply_batch(positioned(late, start=200))
    assert states(rows(milvus, collection, life)) == {m(6): ACTIVE}

    # A projector that never wrote the row reads it, and deletes it.
    MilvusProjector(milvus, collection, DIM, (TOPIC,)).apply_batch(positioned([life.forgotten(6)], start=300))
    assert rows(milvus, collection, life) == {}
    assert milvus.query(collection, filter=f'memory_id == "{m(6)}"', output_fields=["memory_id"]) == []


def test_milvus_user_erased_removes_every_row_of_that_user_and_no_other(
    milvus: MilvusClient, collections: Callable[[], str]
) -> None:
    collection = collections()
    alice = Life(unique('user-"quoted\\-'))  # the delete filter must escape quotes and backslashes
    bob = Life(unique("user-"))
    alice_elsewhere = Life(alice.scope.user_id, app_id="other-app")  # same user id, another app
    projector = MilvusProjector(milvus, collection, DIM, (TOPIC,))
    for index, someone in enumerate((alice, bob, alice_elsewhere)):
        projector.apply_batch(positioned(whole_life(someone), start=100 * index))
    assert len(rows(milvus, collection, alice)) == 6
    others = rows(milvus, collection, bob, alice_elsewhere)
    assert len(others) == 12

    projector.apply_batch(positioned([alice.erased()], start=400))
    assert rows(milvus, collection, alice) == {}
    assert rows(milvus, collection, bob, alice_elsewhere) == others
    # Late events for her erased memories: the projector forgot its copies of her rows, so nothing comes back.
    projector.apply_batch(positioned([alice.recalled(4), alice.decayed(0, 0.125, "decaying")], start=450))
    assert rows(milvus, collection, alice) == {}

    # What follows an erasure in the same batch applies to an empty user (and is not read as a stale row).
    again = [*alice.active(7, "Alice starts over"), alice.erased(), *alice.active(8, "Alice again")]
    projector.apply_batch(positioned(again, start=500))
    assert states(rows(milvus, collection, alice)) == {alice.memory(8): ACTIVE}
    assert rows(milvus, collection, bob, alice_elsewhere) == others


# ── Neo4j ─────────────────────────────────────────────────────────────────────────────────────────────


def graph(driver: Driver, database: str, prefix: str, *lives: Life) -> dict[str, Any]:
    return neo4j_snapshot(driver, database, [life.key for life in lives], prefix)


def by_id(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["memory_id"]: m for m in snapshot["memories"]}


def relations(snapshot: dict[str, Any]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    names = {e["id"]: e["name"] for e in snapshot["entities"]}
    return {(names[r["a"]], r["p"], names[r["b"]], tuple(r["memory_ids"])) for r in snapshot["relations"]}


def nodes_with(driver: Driver, database: str, prefix: str, key: str, value: str) -> int:
    query = namespaced(
        f"""
        CALL () {{
          MATCH (n:Memory) WHERE n.{key} = $value RETURN n
          UNION MATCH (n:Entity) WHERE n.{key} = $value RETURN n
          UNION MATCH (n:Topic) WHERE n.{key} = $value RETURN n
          UNION MATCH (n:User) WHERE n.{key} = $value RETURN n
        }}
        RETURN count(n) AS n
        """,
        prefix,
    )
    records, _, _ = driver.execute_query(query, value=value, database_=database)
    return int(records[0]["n"])


def topic_names(driver: Driver, database: str, prefix: str, life: Life) -> set[str]:
    """The user's Topic nodes, whether or not a memory is about them (an orphan would show here)."""
    query = namespaced("MATCH (t:Topic {scope_key: $key}) RETURN t.name AS name", prefix)
    records, _, _ = driver.execute_query(query, key=life.key, database_=database)
    return {r["name"] for r in records}


def test_neo4j_applies_every_lifecycle_event(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str], life: Life
) -> None:
    database, prefix = stack_settings.neo4j_database, graphs()
    events = whole_life(life)
    projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
    one_at_a_time(projector, positioned(events))

    snapshot = graph(neo4j_driver, database, prefix, life)
    memories = by_id(snapshot)
    m = life.memory
    assert {k: v["state"] for k, v in memories.items()} == {
        m(0): ACTIVE,
        m(1): ACTIVE,
        m(2): DECAYING,
        m(3): ACTIVE,
        m(4): ARCHIVED,
        m(5): ACTIVE,
    }
    assert {k: v["importance"] for k, v in memories.items()} == {
        m(0): 0.5,
        m(1): 0.5,
        m(2): 0.25,  # reinforced to 0.75, then decayed
        m(3): 0.5,
        m(4): 0.5,
        m(5): 0.5,
    }
    assert memories[m(1)]["text"] == "Alice lives in Berlin, Germany"
    assert memories[m(0)]["text"] == "Alice lives in Paris"
    assert {k: v["pinned"] for k, v in memories.items() if v["pinned"] is not None} == {m(1): True}
    superseded = first(events, MemorySuperseded, m(0))
    assert memories[m(0)]["valid_to"].to_native() == superseded.envelope.occurred_at
    assert {k for k, v in memories.items() if v["valid_to"] is not None} == {m(0)}
    assert {k: v["supersedes"] for k, v in memories.items() if v["supersedes"]} == {m(1): [m(0)]}
    assert {k: v["summarizes"] for k, v in memories.items() if v["summarizes"]} == {m(5): sorted([m(3), m(4)])}
    # 6 and what only it said (its entity Boat, the relation OWNS) are gone; Alice, whom others mention, stays.
    assert {e["name"] for e in snapshot["entities"]} == {"Alice", "Paris", "Berlin", "Tea", "Alps"}
    assert relations(snapshot) == {
        ("Alice", "LIVES_IN", "Paris", (m(0),)),
        ("Alice", "LIVES_IN", "Berlin", (m(1),)),
        ("Alice", "LIKES", "Tea", (m(2),)),
        ("Alice", "HIKES_IN", "Alps", tuple(sorted([m(3), m(4)]))),
    }
    assert nodes_with(neo4j_driver, database, prefix, "memory_id", m(6)) == 0
    # Each memory is about the topics of its current text; "boat" and "own", which only 6 was about, are gone.
    assert {k: v["topics"] for k, v in memories.items()} == {k: topic_words(v["text"]) for k, v in memories.items()}
    assert "germany" in memories[m(1)]["topics"]  # the update's new word
    assert topic_names(neo4j_driver, database, prefix, life) == {t for v in memories.values() for t in v["topics"]}
    assert projector.checkpoints() == {(TOPIC, 0): len(events) - 1}


def test_neo4j_whole_life_in_one_batch_equals_one_at_a_time(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str], life: Life
) -> None:
    database = stack_settings.neo4j_database
    items = positioned(whole_life(life))
    single = graphs()
    one_at_a_time(Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=single), items)
    expected = graph(neo4j_driver, database, single, life)
    assert len(expected["memories"]) == 6
    for sizes in ([len(items)], [4, 1, 6], [9]):
        prefix = graphs()
        projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
        for piece in chunks(items, sizes):
            projector.apply_batch(piece)
        assert graph(neo4j_driver, database, prefix, life) == expected, f"sizes {sizes}"


def test_neo4j_applied_twice_changes_nothing(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str], life: Life
) -> None:
    database, prefix = stack_settings.neo4j_database, graphs()
    events = whole_life(life)
    projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
    projector.apply_batch(positioned(events))
    before = graph(neo4j_driver, database, prefix, life)
    projector.apply_batch(positioned(events))  # at or below the checkpoint: skipped
    assert graph(neo4j_driver, database, prefix, life) == before
    assert projector.checkpoints() == {(TOPIC, 0): len(events) - 1}
    # Another projector (no checkpoint) with the same events at new positions: every statement runs again.
    again = Neo4jProjector(neo4j_driver, database, (TOPIC,), name="again", label_prefix=prefix)
    again.apply_batch(positioned(events, start=len(events)))
    assert graph(neo4j_driver, database, prefix, life) == before
    assert again.checkpoints() == {(TOPIC, 0): 2 * len(events) - 1}


def test_neo4j_stale_and_illegal_transitions_change_nothing(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str], life: Life
) -> None:
    database, prefix = stack_settings.neo4j_database, graphs()
    setup = stale_setup(life)
    projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
    projector.apply_batch(positioned(setup))
    before = by_id(graph(neo4j_driver, database, prefix, life))
    m = life.memory
    assert {k: v["state"] for k, v in before.items()} == {m(0): ACTIVE, m(1): ARCHIVED, m(2): STORED, m(3): DECAYING}

    one_at_a_time(projector, positioned(stale_events(life, setup), start=len(setup)))
    after = by_id(graph(neo4j_driver, database, prefix, life))
    assert {k: v["state"] for k, v in after.items()} == {k: v["state"] for k, v in before.items()}
    # A refused state leaves the rest of MemoryDecayed standing: importance is a score, not a transition. The
    # replayed setup then sets 3's importance back to its decay (0.25); 1 and 2 keep the stale decay's 0.125.
    assert {k: v["importance"] for k, v in after.items()} == {m(0): 0.5, m(1): 0.125, m(2): 0.125, m(3): 0.25}
    unchanged = ("text", "kind", "model", "pinned", "valid_to", "entity_ids", "supersedes", "summarizes")
    assert all(after[k][f] == before[k][f] for k in before for f in unchanged)


def test_neo4j_forgotten_leaves_nothing_of_the_memory(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str], life: Life
) -> None:
    database, prefix = stack_settings.neo4j_database, graphs()
    m = life.memory
    setup = [
        *life.active(
            0,
            "Alice lives in Paris with her sister Nora and visited the Louvre",
            ["Alice", "Paris", "Nora", "Louvre"],
            [("Alice", "LIVES_IN", "Paris"), ("Alice", "HAS_SISTER", "Nora"), ("Alice", "VISITED", "Louvre")],
        ),
        *life.active(1, "Alice and Nora live in Paris", ["Alice", "Paris", "Nora"], [("Alice", "LIVES_IN", "Paris")]),
        *life.active(2, "Alice moved to Lyon", ["Alice", "Lyon"]),
        life.superseded(0, by=2),
        *life.active(3, "Alice's summary", ["Alice"]),
        life.consolidated(3, [0, 1]),
    ]
    projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
    projector.apply_batch(positioned(setup))
    assert ("Alice", "LIVES_IN", "Paris", tuple(sorted([m(0), m(1)]))) in relations(
        graph(neo4j_driver, database, prefix, life)
    )

    projector.apply_batch(positioned([life.forgotten(0)], start=len(setup)))
    snapshot = graph(neo4j_driver, database, prefix, life)
    memories = by_id(snapshot)
    assert set(memories) == {m(1), m(2), m(3)}
    assert nodes_with(neo4j_driver, database, prefix, "memory_id", m(0)) == 0
    # Louvre was mentioned by 0 alone: gone. Paris, Nora and Alice are mentioned by others: they stay.
    assert {e["name"] for e in snapshot["entities"]} == {"Alice", "Paris", "Nora", "Lyon"}
    # VISITED and HAS_SISTER were asserted by 0 alone: gone (HAS_SISTER although both its ends stay);
    # LIVES_IN Paris is still asserted by 1, and only by 1 now.
    assert relations(snapshot) == {("Alice", "LIVES_IN", "Paris", (m(1),))}
    # Lineage edges to it went with it.
    assert memories[m(2)]["supersedes"] == [] and memories[m(3)]["summarizes"] == [m(1)]

    # Late events for the forgotten memory find nothing to change and create nothing.
    late = [life.activated(0), life.updated(0, "changed"), life.pinned(0), life.superseded(0, by=1)]
    projector.apply_batch(positioned(late, start=len(setup) + 1))
    assert graph(neo4j_driver, database, prefix, life) == snapshot
    assert nodes_with(neo4j_driver, database, prefix, "memory_id", m(0)) == 0


def test_neo4j_topics_follow_the_text_and_go_with_the_last_memory_about_them(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str], life: Life
) -> None:
    database, prefix = stack_settings.neo4j_database, graphs()
    m = life.memory
    extracted = life.active(0, "Alice plays chess in the park", ["Alice"])
    setup = [*extracted, *life.active(1, "Alice walks in the park", ["Alice"])]
    projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
    projector.apply_batch(positioned(setup))
    # "Alice" opens the sentence: a name or not, it gives its stem and its whole form (memory.retrieval.topics).
    topics = ["alic", "alice", "chess", "park", "play"]
    assert by_id(graph(neo4j_driver, database, prefix, life))[m(0)]["topics"] == topics

    update = life.updated(0, "Alice plays tennis in the park")
    projector.apply_batch(positioned([update], start=len(setup)))
    after_update = graph(neo4j_driver, database, prefix, life)
    assert by_id(after_update)[m(0)]["topics"] == topic_words("Alice plays tennis in the park")
    assert "chess" not in topic_names(neo4j_driver, database, prefix, life)  # nothing is about chess any more

    # The extraction redelivered after the update (another projector, new positions) brings no old word back,
    # and the update applied again changes nothing.
    again = Neo4jProjector(neo4j_driver, database, (TOPIC,), name="again", label_prefix=prefix)
    again.apply_batch(positioned([*extracted, update], start=len(setup) + 1))
    assert graph(neo4j_driver, database, prefix, life) == after_update
    assert "chess" not in topic_names(neo4j_driver, database, prefix, life)

    projector.apply_batch(positioned([life.forgotten(0)], start=len(setup) + 1))
    # "tennis" and "play" were 0's alone; "park" and "alice" are 1's too.
    assert topic_names(neo4j_driver, database, prefix, life) == {"alic", "alice", "park", "walk"}


def test_neo4j_user_erased_deletes_every_node_of_that_user_and_no_other(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str]
) -> None:
    database, prefix = stack_settings.neo4j_database, graphs()
    alice, bob = Life(unique("user-")), Life(unique("user-"))
    projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
    projector.apply_batch(positioned([*whole_life(alice), *whole_life(bob)]))
    # User, 6 memories, 5 entities, 11 topics (alic alice live paris berlin germany like tea hike alps often:
    # "Alice" opens every sentence, so it is both a stem and a whole word).
    assert nodes_with(neo4j_driver, database, prefix, "scope_key", alice.key) == 23
    bob_before = graph(neo4j_driver, database, prefix, bob)

    projector.apply_batch(positioned([alice.erased()], start=1000))
    assert nodes_with(neo4j_driver, database, prefix, "scope_key", alice.key) == 0
    assert graph(neo4j_driver, database, prefix, bob) == bob_before

    # The same user writing again after the erasure, in the batch of a second erasure: only what followed it.
    again = [*alice.active(7, "Alice starts over", ["Alice"]), alice.erased(), *alice.active(8, "Hi", ["Alice"])]
    projector.apply_batch(positioned(again, start=2000))
    assert set(by_id(graph(neo4j_driver, database, prefix, alice))) == {alice.memory(8)}
    # User, memory, Alice (a greeting is about nothing: no topic).
    assert nodes_with(neo4j_driver, database, prefix, "scope_key", alice.key) == 3
    assert graph(neo4j_driver, database, prefix, bob) == bob_before


def test_neo4j_lineage_waits_for_every_memory_it_links(
    neo4j_driver: Driver, stack_settings: Settings, graphs: Callable[[], str], life: Life
) -> None:
    """A supersession joins an earlier group of its kind only if none of the memories it names is created
    later: here the second one names a memory extracted after the first supersession's group."""
    database = stack_settings.neo4j_database
    m = life.memory
    earlier = [*life.active(0, "Alice lives in Paris"), *life.active(1, "Alice lives in Rome")]
    earlier += life.active(3, "Alice works at Acme")
    batch = [
        life.superseded(0, by=1),
        *life.active(2, "Alice works at Lumen"),
        life.superseded(3, by=2),
        life.consolidated(2, [0, 1]),
    ]
    results = []
    for apply in ("one at a time", "one batch"):
        prefix = graphs()
        projector = Neo4jProjector(neo4j_driver, database, (TOPIC,), label_prefix=prefix)
        projector.apply_batch(positioned(earlier))
        if apply == "one batch":
            projector.apply_batch(positioned(batch, start=len(earlier)))
        else:
            one_at_a_time(projector, positioned(batch, start=len(earlier)))
        results.append(graph(neo4j_driver, database, prefix, life))
    assert results[0] == results[1]
    memories = by_id(results[1])
    assert memories[m(2)]["supersedes"] == [m(3)]
    assert memories[m(1)]["supersedes"] == [m(0)]
    assert memories[m(2)]["summarizes"] == sorted([m(0), m(1)])


# ── Redis ─────────────────────────────────────────────────────────────────────────────────────────────


def cache_entries(redis_client: Redis, prefix: str, life: Life, epoch: str = "0123456789abcdef") -> list[str]:
    """Search results as the API caches them (``api.cache``), two per user."""
    cache = SearchCache(None, prefix)  # type: ignore[arg-type]  # key() needs no client
    keys = [cache.key(life.key, epoch, request) for request in (b"query one", b"query two")]
    for key in keys:
        redis_client.set(key, b"cached result")
    return keys


def held(redis_client: Redis, keys: Sequence[str]) -> int:
    return int(redis_client.exists(*keys))


def test_redis_generation_moves_for_every_event_that_changes_results(
    redis_client: Redis, caches: Callable[[], str], life: Life
) -> None:
    events = whole_life(life)
    events[8:8] = [life.accessed(0), life.accessed(1)]  # accesses in the middle of the life
    items = positioned(events)
    projector = RedisProjector(redis_client, (TOPIC,), prefix=caches())
    expected, moved = -1, 0
    for item in items:
        projector.apply_batch([item])
        if changes_results(item.event):
            expected, moved = item.position.offset, moved + 1
        assert projector.generation(life.key) == expected, type(item.event).__name__
    assert moved == len(events) - 3  # all but the three accesses
    assert projector.checkpoints() == {(TOPIC, 0): len(events) - 1}


def test_redis_user_erased_deletes_the_users_cache_and_generation_only(
    redis_client: Redis, caches: Callable[[], str]
) -> None:
    prefix = caches()
    base = unique("user-")
    alice = Life(base + "*")  # a glob character: erasing her must not match bob's keys
    bob = Life(base + "-bob")
    projector = RedisProjector(redis_client, (TOPIC,), prefix=prefix)
    alice_events, bob_events = whole_life(alice), whole_life(bob)
    projector.apply_batch(positioned([*alice_events, *bob_events]))
    alice_cached, bob_cached = cache_entries(redis_client, prefix, alice), cache_entries(redis_client, prefix, bob)
    assert projector.generation(bob.key) == len(alice_events) + len(bob_events) - 1
    bob_before = redis_snapshot(redis_client, [bob.key], prefix)

    end = len(alice_events) + len(bob_events)
    projector.apply_batch(positioned([alice.erased()], start=end))
    assert projector.generation(alice.key) == -1
    assert held(redis_client, alice_cached) == 0
    assert held(redis_client, bob_cached) == 2
    assert redis_snapshot(redis_client, [bob.key], prefix) == bob_before
    assert projector.checkpoints() == {(TOPIC, 0): end}

    # Erased and written to again within one batch: the cache is gone and the generation is the later event's.
    alice_cached = cache_entries(redis_client, prefix, alice)
    again = [alice.erased(), *alice.active(7, "Alice starts over"), alice.accessed(7)]
    projector.apply_batch(positioned(again, start=end + 1))
    assert projector.generation(alice.key) == end + 1 + 3  # the activation; the access does not count
    assert held(redis_client, alice_cached) == 0
    assert held(redis_client, bob_cached) == 2


def test_redis_applied_twice_and_in_one_batch_equals_one_at_a_time(
    redis_client: Redis, caches: Callable[[], str]
) -> None:
    alice, bob = Life(unique("user-")), Life(unique("user-"))
    bob_life = whole_life(bob)
    events = [*whole_life(alice), *bob_life[:10], alice.erased(), *bob_life[10:]]
    events += [*alice.active(7, "Alice starts over"), alice.accessed(7)]
    items = positioned(events)
    keys = [alice.key, bob.key]

    single = caches()
    one_at_a_time(RedisProjector(redis_client, (TOPIC,), prefix=single), items)
    expected = redis_snapshot(redis_client, keys, single)
    assert expected == {alice.key: len(events) - 2, bob.key: len(events) - 5}

    whole = caches()
    projector = RedisProjector(redis_client, (TOPIC,), prefix=whole)
    projector.apply_batch(items)
    assert redis_snapshot(redis_client, keys, whole) == expected
    cached = cache_entries(redis_client, whole, alice)
    projector.apply_batch(items)  # at or below the checkpoint: skipped, the erasure included
    assert held(redis_client, cached) == 2
    RedisProjector(redis_client, (TOPIC,), prefix=whole, name="again").apply_batch(items)  # no checkpoint
    assert redis_snapshot(redis_client, keys, whole) == expected
    assert held(redis_client, cached) == 0  # that projector did apply the erasure
