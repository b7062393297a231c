"""Replay, audit and time travel through the running system: rebuild + verify + blue/green switch, lineage,
read-your-writes, as-of queries, dead-letter re-drive."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from adapters.kafka import SyncProducer, make_producer
from memory.contract.codec import Codec
from memory.settings import Settings
from memstream_cli.processes import start_system
from projections.targets import active_targets, settings_for_target
from replay.deadletters import read_dead_letters
from replay.verify import verify
from tests.e2e.conftest import RunningSystem, free_port
from tests.support import isolated_settings, make_turn, unique, wait_until


def search(system: RunningSystem, user: str, query: str, **extra: Any) -> list[dict[str, Any]]:
    with system.client() as client:
        response = client.post(
            "/v1/memories/search", json={"query": query, "user_id": user, "app_id": system.app_id, **extra}
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results


def add(system: RunningSystem, user: str, text: str, **extra: Any) -> dict[str, Any]:
    with system.client() as client:
        response = client.post("/v1/memories", json={"user_id": user, "app_id": system.app_id, "text": text, **extra})
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body


def test_read_your_writes_with_the_consistency_token(system: RunningSystem) -> None:
    user = unique("u-")
    for i in range(3):
        token = add(system, user, f"My favourite board game number {i} is Carcassonne edition {i}.")[
            "consistency_token"
        ]
        # No polling: the read itself waits until every projection has applied the write.
        hits = search(system, user, f"board game number {i}", consistency_token=token)
        assert any(f"number {i}" in h["memory"] for h in hits), hits


def test_a_malformed_consistency_token_is_a_400(system: RunningSystem) -> None:
    with system.client() as client:
        response = client.post("/v1/memories/search", json={"query": "x", "user_id": "u", "consistency_token": "%%%"})
    assert response.status_code == 400
    assert "token" in response.json()["detail"]


def test_lineage_explains_a_memory_from_its_events(system: RunningSystem) -> None:
    user = unique("u-")
    token = add(system, user, "I moved to Lisbon to work on solar farms.", metadata={"source": "lineage"})[
        "consistency_token"
    ]
    (hit,) = search(system, user, "Lisbon", consistency_token=token, top_k=1)
    with system.client() as client:
        response = client.get(f"/v1/memories/{hit['id']}/lineage", params={"user_id": user, "app_id": system.app_id})
        assert response.status_code == 200, response.text
        body = response.json()
        other = client.get(f"/v1/memories/{hit['id']}/lineage", params={"user_id": "intruder", "app_id": system.app_id})
    assert other.status_code == 404
    assert [e["event_type"] for e in body["events"]] == ["MemoryExtracted", "MemoryEmbedded", "MemoryActivated"]
    assert [e["state"] for e in body["events"]] == ["extracted", "stored", "active"]
    (turn,) = body["source_turns"]
    assert turn["text"] == "I moved to Lisbon to work on solar farms."
    assert body["events"][0]["causation_id"] == turn["event_id"]
    assert body["events"][1]["causation_id"] == body["events"][0]["event_id"]
    assert body["embedding_model"] == "all-MiniLM-L6-v2"

    audit = system.cli("audit", hit["id"])
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout)["events"][0]["event_id"] == body["events"][0]["event_id"]


def test_as_of_and_known_as_of(system: RunningSystem) -> None:
    user = unique("u-")
    march = datetime(2026, 3, 10, tzinfo=UTC)
    may = datetime(2026, 5, 10, tzinfo=UTC)
    add(system, user, "I live in a small flat in Porto.", occurred_at=march.isoformat())
    token = add(system, user, "I bought a house with a garden in Braga.", occurred_at=may.isoformat())[
        "consistency_token"
    ]
    now = search(system, user, "where do I live", consistency_token=token)
    assert {("Porto" in h["memory"]) or ("Braga" in h["memory"]) for h in now} == {True}
    assert len(now) == 2

    april = search(system, user, "where do I live", as_of="2026-04-01T00:00:00Z")
    assert [h["memory"] for h in april] == ["User: I live in a small flat in Porto."]

    before_ingest = search(system, user, "where do I live", known_as_of="2020-01-01T00:00:00Z")
    assert before_ingest == []


def test_dead_letters_are_listed_and_re_driven_after_a_fix(stack_settings: Settings, tmp_path: Any) -> None:
    settings = replace(isolated_settings(stack_settings), api_port=free_port(), max_content_chars=60)
    app_id = unique("app-")
    user = unique("u-")
    long_turn = make_turn(
        user, "I keep a detailed diary of every mountain I have climbed since 2015.", "1", app_id=app_id
    )
    system = start_system(settings, tmp_path / "before")
    try:
        system.wait_ready()
        SyncProducer(make_producer(settings)).produce_all(
            [(settings.topics.turns, long_turn.scope.key.encode(), Codec().encode(long_turn))]
        )
        letters = wait_until(lambda: list(read_dead_letters(settings, timeout=2)), timeout=60, what="a dead letter")
    finally:
        system.stop()
    (_position, letter) = letters[0]
    assert "the limit is 60" in letter.reason
    listed = RunningSystem(system, app_id).cli("replay", "deadletter", "list")
    assert letter.dead_letter_id in listed.stdout and "the limit is 60" in listed.stdout

    fixed = replace(settings, max_content_chars=20_000)  # the fix: a higher limit
    system = start_system(fixed, tmp_path / "after")
    try:
        system.wait_ready()
        running = RunningSystem(system, app_id)
        redriven = running.cli("replay", "deadletter", "redrive", "--id", letter.dead_letter_id)
        assert redriven.returncode == 0, redriven.stderr
        assert "re-drove 1" in redriven.stdout
        hits = wait_until(lambda: search(running, user, "mountain diary"), timeout=60, what="the re-driven turn")
        assert "mountain" in hits[0]["memory"]
    finally:
        system.stop()


@pytest.fixture
def rebuilt_system(stack_settings: Settings, tmp_path: Any):  # type: ignore[no-untyped-def]
    settings = replace(isolated_settings(stack_settings), api_port=free_port())
    system = start_system(settings, tmp_path)
    try:
        system.wait_ready()
        yield RunningSystem(system, unique("app-"))
    finally:
        system.stop()


def test_rebuild_verify_switch_and_drop(rebuilt_system: RunningSystem) -> None:
    system = rebuilt_system
    settings = system.settings
    users = [unique("u-") for _ in range(2)]
    token = ""
    for user in users:
        for text in ("I play the cello in a quartet.", "My cat Pixel sleeps on the piano.", "I work at Orbital Foods."):
            token = add(system, user, text)["consistency_token"]
    search(system, users[0], "cello", consistency_token=token)

    result = system.cli("replay", "rebuild", "--projection", "all", "--target", "blue")
    assert result.returncode == 0, result.stderr
    assert "postgres:" in result.stdout and "events/s" in result.stdout
    diffs = verify(settings, "live", "blue", ("postgres", "milvus", "neo4j", "redis"))
    assert all(d.equal for d in diffs), [d for d in diffs if not d.equal]
    # Six memories, and each user's conversation as one session (three turns within a minute).
    assert {d.store: d.left_count for d in diffs}["postgres"] == 6 + 2
    cli_verify = system.cli("replay", "verify", "--target", "blue")
    assert cli_verify.returncode == 0 and "DIFFERENT" not in cli_verify.stdout

    # A rebuild into a target with a difference is reported by memory id.
    blue = settings_for_target(settings, "blue")
    with psycopg.connect(blue.postgres_dsn) as conn:
        changed = conn.execute(
            "UPDATE memories SET importance = 0.01"
            " WHERE memory_id = (SELECT min(memory_id) FROM memories) RETURNING memory_id"
        ).fetchone()
    assert changed is not None
    broken = system.cli("replay", "verify", "--target", "blue", "--projection", "postgres")
    assert broken.returncode == 1 and changed[0] in broken.stdout

    switched = system.cli("replay", "rebuild", "--projection", "all", "--target", "green", "--switch", "--drop-old")
    assert switched.returncode == 0, switched.stderr
    assert set(active_targets(settings.postgres_dsn).values()) == {"green"}
    assert "dropped the old postgres target 'live'" in switched.stderr
    # Reads come from green now, and the live projectors write new memories into green.
    assert {h["memory"] for h in search(system, users[1], "cello")} >= {"User: I play the cello in a quartet."}
    newcomer = unique("u-")
    token = add(system, newcomer, "I restore vintage motorbikes on weekends.")["consistency_token"]
    hits = search(system, newcomer, "motorbikes", consistency_token=token)
    assert hits and "motorbikes" in hits[0]["memory"]
    assert system.cli("replay", "drop", "--target", "blue").returncode == 0
    refused = system.cli("replay", "drop", "--target", "green")
    assert refused.returncode == 2 and "serves 'green' now" in refused.stderr


def test_a_rebuild_during_ingest_catches_up_switches_and_loses_nothing(rebuilt_system: RunningSystem) -> None:
    system = rebuilt_system
    settings = system.settings
    user = unique("u-")
    codec = Codec()
    producer = SyncProducer(make_producer(settings))
    turns = [
        make_turn(user, f"I planted tree number {i} in the orchard.", str(i), app_id=system.app_id) for i in range(240)
    ]

    def ingest() -> None:
        for start in range(0, len(turns), 20):
            chunk = turns[start : start + 20]
            producer.produce_all([(settings.topics.turns, t.scope.key.encode(), codec.encode(t)) for t in chunk])
            time.sleep(0.5)

    feeder = threading.Thread(target=ingest)
    feeder.start()
    time.sleep(1.0)  # the rebuild starts while turns keep arriving
    result = system.cli("replay", "rebuild", "--projection", "all", "--target", "during", "--switch")
    feeder.join()
    assert result.returncode == 0, result.stderr
    assert set(active_targets(settings.postgres_dsn).values()) == {"during"}

    def all_there() -> bool:
        with system.client() as client:
            listed = client.get("/v1/memories", params={"user_id": user, "app_id": system.app_id, "limit": 500}).json()
        return listed["total"] == len(turns)

    wait_until(all_there, timeout=120, what="every turn's memory in the switched-to target")
    with system.client() as client:
        listed = client.get("/v1/memories", params={"user_id": user, "app_id": system.app_id, "limit": 500}).json()
    texts = [m["memory"] for m in listed["results"]]
    assert len(texts) == len(set(texts)) == len(turns)  # nothing lost, nothing twice
    assert all(m["state"] == "active" for m in listed["results"])
