"""A turn on Kafka becomes a searchable memory in all four stores, through the real running processes."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from neo4j import GraphDatabase
from pymilvus import MilvusClient
from redis import Redis

from adapters.kafka import SyncProducer, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import DeadLetter, MemoryExtracted
from memory.ingest.extraction import extract_facts
from memory.ingest.extraction_types import TurnInput
from memory.settings import PROJECT_ROOT
from projections.neo4j.labels import namespaced
from projections.redis.keys import generation_key
from tests.e2e.conftest import RunningSystem
from tests.support import make_turn, unique, wait_until

SAMPLE = PROJECT_ROOT / "examples" / "conversation.jsonl"


def expected_facts(user_id: str) -> int:
    lines = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    return sum(
        len(extract_facts(TurnInput(o["role"], o.get("speaker", ""), o["text"])))
        for o in lines
        if o["user_id"] == user_id
    )


def list_memories(system: RunningSystem, user_id: str, app_id: str | None = None) -> dict[str, Any]:
    with system.client() as client:
        response = client.get("/v1/memories", params={"user_id": user_id, "app_id": app_id or system.app_id})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def produced(system: RunningSystem) -> int:
    result = system.cli("produce", str(SAMPLE), "--app-id", system.app_id, *system.producer_flags())
    assert result.returncode == 0, result.stderr
    assert "produced 7 turns" in result.stdout
    want = expected_facts("alice")
    wait_until(lambda: list_memories(system, "alice")["total"] >= want, timeout=90, what="alice's memories")
    wait_until(lambda: list_memories(system, "bob")["total"] >= expected_facts("bob"), timeout=60, what="bob's")
    return want


def test_produced_turns_become_memories_in_every_store(system: RunningSystem, produced: int) -> None:
    settings = system.settings
    alice = list_memories(system, "alice")
    assert alice["total"] == produced  # exactly once, no duplicates
    assert all(m["state"] == "active" and m["embedding_model"] == "all-MiniLM-L6-v2" for m in alice["results"])
    ids = {m["id"] for m in alice["results"]}

    with psycopg.connect(settings.postgres_dsn) as conn:
        turns = conn.execute("SELECT count(*) FROM conversation_turns WHERE app_id = %s", (system.app_id,)).fetchone()
        checkpoints = conn.execute("SELECT DISTINCT projection FROM projection_checkpoints").fetchall()
    assert turns == (7,)
    assert ("postgres",) in checkpoints

    # Each projector is its own consumer group: PostgreSQL (which the API lists from) may be ahead of the
    # others, so wait for each store to hold the same set rather than reading it once.
    milvus = MilvusClient(uri=settings.milvus_uri)

    def milvus_rows() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = milvus.query(
            settings.milvus_collection,
            filter=f'app_id == "{system.app_id}" and user_id == "alice"',
            output_fields=["memory_id", "state", "user_id"],
        )
        return rows if {r["memory_id"] for r in rows} == ids else []

    rows = wait_until(milvus_rows, what="alice's memories in milvus")
    assert {r["state"] for r in rows} == {"active"}

    with GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password)) as driver:

        def graph() -> dict[str, Any] | None:
            records, _, _ = driver.execute_query(
                namespaced(
                    "MATCH (u:User {scope_key: $key})-[:HAS_MEMORY]->(m:Memory)-[:MENTIONS]->(e:Entity) "
                    "RETURN collect(DISTINCT m.memory_id) AS memories, collect(DISTINCT e.name) AS entities",
                    settings.neo4j_label_prefix,
                ),
                key=f"{system.app_id}/alice",
            )
            found = dict(records[0])
            return found if set(found["memories"]) == ids else None

        found = wait_until(graph, what="alice's memories in neo4j")
    assert {"Alice", "Paris", "Sam", "Lumen Labs", "Nora"} <= set(found["entities"])

    redis = Redis.from_url(settings.redis_url)
    wait_until(
        lambda: redis.get(generation_key(settings.redis_prefix, f"{system.app_id}/alice")) is not None,
        what="alice's cache generation in redis",
    )


def test_search_ranks_the_relevant_memory_first_with_scores(system: RunningSystem, produced: int) -> None:
    with system.client() as client:
        response = client.post(
            "/v1/memories/search", json={"query": "Where does Alice live?", "user_id": "alice", "app_id": system.app_id}
        )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert "Paris" in results[0]["memory"]
    assert results[0]["score"] > 0 and results[0]["retrievers"]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)

    with system.client() as client:
        coffee = client.post(
            "/v1/memories/search", json={"query": "coffee", "user_id": "alice", "app_id": system.app_id, "top_k": 3}
        ).json()["results"]
    assert "coffee" in coffee[0]["memory"]
    assert "sparse" in coffee[0]["retrievers"] and "dense" in coffee[0]["retrievers"]


def test_a_user_never_sees_another_users_memories(system: RunningSystem, produced: int) -> None:
    alice_ids = {m["id"] for m in list_memories(system, "alice")["results"]}
    bob = list_memories(system, "bob")["results"]
    assert bob and alice_ids.isdisjoint({m["id"] for m in bob})
    assert all(m["user_id"] == "bob" for m in bob)
    with system.client() as client:
        found = client.post(
            "/v1/memories/search", json={"query": "Paris coffee climbing", "user_id": "bob", "app_id": system.app_id}
        ).json()["results"]
        assert alice_ids.isdisjoint({r["id"] for r in found})
        some_alice_id = next(iter(alice_ids))
        assert (
            client.get(
                f"/v1/memories/{some_alice_id}", params={"user_id": "alice", "app_id": system.app_id}
            ).status_code
            == 200
        )
        denied = client.get(f"/v1/memories/{some_alice_id}", params={"user_id": "bob", "app_id": system.app_id})
        assert denied.status_code == 404


def test_api_write_answers_202_and_becomes_searchable(system: RunningSystem) -> None:
    user = unique("u-")
    with system.client() as client:
        response = client.post(
            "/v1/memories",
            json={
                "user_id": user,
                "app_id": system.app_id,
                "agent_id": "travel-bot",
                "messages": [
                    {"role": "user", "content": "I always book an aisle seat on long flights.", "name": "Kim"}
                ],
                "metadata": {"source": "e2e"},
            },
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert len(body["event_ids"]) == 1 and body["consistency_token"]
        assert body["positions"][0]["topic"] == system.settings.topics.turns

        def searchable() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = client.post(
                "/v1/memories/search",
                json={"query": "seat preference on flights", "user_id": user, "app_id": system.app_id},
            ).json()["results"]
            return found

        hits = wait_until(searchable, timeout=60, what="the new memory")
        assert "aisle seat" in hits[0]["memory"]
        assert hits[0]["metadata"]["source"] == "e2e"
        memory = client.get(f"/v1/memories/{hits[0]['id']}", params={"user_id": user, "app_id": system.app_id}).json()
        assert memory["agent_id"] == "travel-bot"


def end_offsets(system: RunningSystem) -> int:
    consumer = Consumer(client_config(system.settings, **{"group.id": unique("w-")}))
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(system.settings.topics.turns, p), timeout=10)[1]
            for p in range(system.settings.kafka_partitions)
        )
    finally:
        consumer.close()


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (b"{not json", 400, ""),
        ({"messages": [{"role": "user", "content": "hi there"}]}, 400, "user_id"),
        ({"user_id": "u", "messages": [{"role": "user", "content": "   "}]}, 400, "empty"),
        ({"user_id": "u", "text": "x" * 20_001}, 413, "limit"),
        ({"user_id": "u", "text": "ok", "colour": "blue"}, 400, "colour"),
        ({"user_id": "u"}, 400, "exactly one"),
        ({"user_id": "u", "messages": [{"role": "robot", "content": "beep"}]}, 400, "role"),
        ({"user_id": "", "text": "hello"}, 400, "user_id"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_produces_nothing(
    system: RunningSystem, payload: Any, status: int, message: str
) -> None:
    before = end_offsets(system)
    with system.client() as client:
        if isinstance(payload, bytes):
            response = client.post("/v1/memories", content=payload, headers={"content-type": "application/json"})
        else:
            response = client.post("/v1/memories", json=payload)
    assert response.status_code == status, response.text
    assert message in json.dumps(response.json())
    assert end_offsets(system) == before


def test_search_input_is_validated(system: RunningSystem) -> None:
    with system.client() as client:
        assert client.post("/v1/memories/search", json={"query": "", "user_id": "u"}).status_code == 400
        assert client.post("/v1/memories/search", json={"query": "x", "user_id": "u", "top_k": 0}).status_code == 400
        assert (
            client.post("/v1/memories/search", json={"query": "x", "user_id": "u", "top_k": 10_000}).status_code == 400
        )
        # The client's key is app-wide: it must say whose memories (another app would be a 403 first).
        missing_user = client.get("/v1/memories", params={"app_id": system.app_id})
        assert missing_user.status_code == 400 and "user_id is required" in missing_user.text


def test_poison_turn_is_dead_lettered_and_the_next_turn_gets_through(system: RunningSystem) -> None:
    settings = system.settings
    codec = Codec()
    user = unique("u-")
    key = f"{system.app_id}/{user}".encode()
    empty = make_turn(user, "placeholder", "1", app_id=system.app_id)
    empty = type(empty)(**{**empty.__dict__, "text": "   "})
    good = make_turn(user, "I keep bees on my balcony in Lyon.", "2", app_id=system.app_id)
    SyncProducer(make_producer(settings)).produce_all(
        [
            (settings.topics.turns, key, b"garbage, not Avro"),
            (settings.topics.turns, key, codec.encode(empty)),
            (settings.topics.turns, key, codec.encode(good)),
        ]
    )
    memories = wait_until(lambda: list_memories(system, user)["results"], timeout=60, what="the good turn's memory")
    assert "bees" in memories[0]["memory"]

    consumer = Consumer(client_config(settings, **{"group.id": unique("dlq-"), "auto.offset.reset": "earliest"}))
    consumer.subscribe([settings.topics.deadletter])
    letters: list[DeadLetter] = []

    def mine() -> list[DeadLetter]:
        for msg in consumer.consume(num_messages=50, timeout=1.0):
            if msg.error() is None:
                letter = codec.decode(msg.value())
                if letter.origin_key == key and letter.component == "streams.extraction":
                    letters.append(letter)
        return letters if len(letters) >= 2 else []

    try:
        wait_until(mine, timeout=30, what="two dead letters")
    finally:
        consumer.close()
    reasons = sorted(letter.reason for letter in letters)
    assert any("marker" in r for r in reasons)
    assert any("empty" in r for r in reasons)
    assert any(letter.payload == b"garbage, not Avro" for letter in letters)


def test_producing_the_same_conversation_again_creates_no_duplicates(system: RunningSystem, produced: int) -> None:
    again = system.cli("produce", str(SAMPLE), "--app-id", system.app_id, *system.producer_flags())
    assert again.returncode == 0, again.stderr
    # A sentinel for the same user lands in the same partition after the repeats: once it is visible,
    # the repeats have been processed too.
    codec = Codec()
    sentinel = make_turn("alice", "I just adopted a parrot called Kiwi.", "sentinel", app_id=system.app_id)
    SyncProducer(make_producer(system.settings)).produce_all(
        [(system.settings.topics.turns, sentinel.scope.key.encode(), codec.encode(sentinel))]
    )
    wait_until(
        lambda: any("Kiwi" in m["memory"] for m in list_memories(system, "alice")["results"]),
        timeout=60,
        what="the sentinel",
    )
    assert list_memories(system, "alice")["total"] == produced + 1


def test_a_memory_carries_the_turn_before_it_and_is_found_through_it(system: RunningSystem) -> None:
    """The answer "They were awestruck and humbled" is about the memorial only through the question before it."""
    settings, codec, user = system.settings, Codec(), unique("u-")
    with system.client() as client:
        response = client.post(
            "/v1/memories",
            json={
                "user_id": user,
                "app_id": system.app_id,
                "conversation_id": "memorial",
                "messages": [
                    {
                        "role": "assistant",
                        "content": "How did your kids react at the military memorial?",
                        "name": "Maria",
                    },
                    {"role": "user", "content": "They were awestruck and humbled, all of them.", "name": "John"},
                ],
            },
        )
        assert response.status_code == 202, response.text
        # The same kind of answer in another conversation, after nothing: no context to place it.
        distractor = client.post(
            "/v1/memories",
            json={
                "user_id": user,
                "app_id": system.app_id,
                "conversation_id": "hike",
                "messages": [{"role": "user", "content": "They were tired and hungry, all of them.", "name": "John"}],
            },
        )
        assert distractor.status_code == 202, distractor.text

    consumer = Consumer(client_config(settings, **{"group.id": unique("ctx-"), "auto.offset.reset": "earliest"}))
    consumer.subscribe([settings.topics.memories])
    extracted: dict[str, MemoryExtracted] = {}

    def both() -> dict[str, MemoryExtracted]:
        for msg in consumer.consume(num_messages=200, timeout=1.0):
            if msg.error() is None and codec.record_name(msg.value()) == MemoryExtracted.SCHEMA_NAME:
                event = codec.decode(msg.value())
                if event.scope.user_id == user:
                    extracted[event.text] = event
        return extracted if len(extracted) >= 2 else {}

    try:
        wait_until(both, timeout=60, what="both turns' memories on the log")
    finally:
        consumer.close()
    answer = next(e for text, e in extracted.items() if "awestruck" in text)
    alone = next(e for text, e in extracted.items() if "tired" in text)
    assert answer.context == "Maria: How did your kids react at the military memorial?"
    assert alone.context == ""  # the first turn of its conversation
    # The assistant's question is context, not a memory (memory.ingest.worth); it was extracted before the answer.
    assert not any("memorial" in text for text in extracted), sorted(extracted)

    def dense_hits() -> list[str]:
        with system.client() as client:
            found = client.post(
                "/v1/memories/search",
                json={"query": "kids memorial reaction", "user_id": user, "app_id": system.app_id, "recipe": "dense"},
            ).json()["results"]
        texts = [str(h["memory"]) for h in found]
        return texts if any("awestruck" in t for t in texts) else []

    # Embedded with its context, the answer is near the query though it shares no word with it; the same
    # kind of answer without context is not (below it, or too far to be a dense match at all).
    ranked = wait_until(dense_hits, timeout=60, what="the answer found by meaning")
    awestruck = next(i for i, text in enumerate(ranked) if "awestruck" in text)
    tired = next((i for i, text in enumerate(ranked) if "tired" in text), len(ranked))
    assert awestruck < tired, ranked
