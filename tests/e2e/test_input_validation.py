"""Refused at the door what a store would refuse later, through the real API, worker and projectors.

Every input class ``memory.contract.validation`` defines gets a 4xx naming the field and the problem, and nothing
reaches Kafka (the turns and commands topics' end offsets do not move). Writes that are not JSON get 415.
A turn produced straight to Kafka that breaks the same rule is dead-lettered by extraction with the reason
and is not in PostgreSQL's conversation log, while the valid turn after it becomes a memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from adapters.kafka import SyncProducer, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import ConversationTurnReceived
from memory.contract.positions import LogPosition
from replay.deadletters import read_dead_letters
from tests.e2e.conftest import RunningSystem
from tests.support import make_turn, unique, wait_until

pytestmark = pytest.mark.e2e

SOME_ID = "6f1c9a52-3d1e-5b8e-9a3c-6d656d737472"


def written(system: RunningSystem) -> int:
    """How many records the API has ever produced: the turns and commands topics' end offsets, summed."""
    settings = system.settings
    consumer = Consumer(client_config(settings, **{"group.id": unique("w-")}))
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for topic in (settings.topics.turns, settings.topics.commands)
            for p in range(settings.kafka_partitions)
        )
    finally:
        consumer.close()


@pytest.fixture
def nothing_written(system: RunningSystem) -> Iterator[None]:
    before = written(system)
    yield
    assert written(system) == before, "a refused request produced something"


def detail(response: Any) -> str:
    return json.dumps(response.json())


def body(**fields: Any) -> dict[str, Any]:
    return {"user_id": unique("u-"), "text": "I keep bees on my balcony.", **fields}


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (body(text="I keep bees\u0000 on my balcony."), 400, "text contains a NUL character at position 11"),
        (body(text="bees \u001b[31m"), 400, "text contains the control character U+001B"),
        (body(text=" \n\t "), 400, "text is empty"),
        (
            body(text=None, messages=[{"role": "user", "content": "bees\u0000"}]),
            400,
            "messages[0].content contains a NUL",
        ),
        (
            body(text=None, messages=[{"role": "user", "content": "bees", "name": "Kim\n"}]),
            400,
            "messages[0].name contains the control character U+000A",
        ),
        (body(user_id="x\n"), 400, "user_id"),
        (body(app_id="default\n"), 400, "app_id"),
        (body(agent_id="bot\n"), 400, "agent_id"),
        (body(conversation_id='c" or 1'), 400, "conversation_id"),
        (body(session_id="morning chat"), 400, "session_id"),
        (body(metadata={"bad\u0000key": "v"}), 400, "metadata key 'bad\\\\x00key' contains a NUL"),
        (body(metadata={"k": "v\u0000"}), 400, "metadata['k'] contains a NUL"),
        (body(metadata={"k": "v" * 1001}), 400, "metadata"),
        (body(occurred_at="2026-03-02T09:15:00"), 400, "timezone"),
        (body(occurred_at="1066-10-14T09:00:00Z"), 400, "occurred_at 1066-10-14T09:00:00+00:00 is outside"),
        (body(text="x" * 20_001), 413, "the limit is 20000"),
    ],
)
def test_a_bad_write_is_refused_naming_the_field_and_produces_nothing(
    system: RunningSystem, nothing_written: None, payload: dict[str, Any], status: int, message: str
) -> None:
    payload = {k: v for k, v in payload.items() if v is not None}
    with system.client() as client:
        response = client.post("/v1/memories", json={"app_id": system.app_id, **payload})
    assert response.status_code == status, response.text
    assert message in detail(response)


@pytest.mark.parametrize(
    ("method", "path", "params", "message"),
    [
        ("GET", "/v1/memories", {"user_id": "alice\n"}, "user_id"),
        ("GET", "/v1/memories", {"user_id": "alice", "app_id": "default\n"}, "app_id"),
        ("GET", "/v1/memories", {"user_id": "alice", "agent_id": "a b"}, "agent_id"),
        ("GET", f"/v1/memories/{SOME_ID}%0A", {"user_id": "alice"}, "memory_id"),
        ("GET", f"/v1/memories/{SOME_ID}/history", {"user_id": "alice\n"}, "user_id"),
        ("GET", f"/v1/memories/{SOME_ID}/lineage", {"user_id": 'alice" or "1'}, "user_id"),
        ("DELETE", "/v1/memories", {"user_id": 'alice" || user_id != "'}, "user_id"),  # once a bad Milvus filter
        ("DELETE", "/v1/memories", {"user_id": "alice\n"}, "user_id"),
        ("DELETE", "/v1/memories", {"user_id": "alice", "app_id": "x" * 201}, "app_id"),
        ("DELETE", f"/v1/memories/{SOME_ID}%0A", {"user_id": "alice"}, "memory_id"),
    ],
)
def test_query_and_path_ids_follow_the_same_rule(
    system: RunningSystem, nothing_written: None, method: str, path: str, params: dict[str, str], message: str
) -> None:
    with system.client() as client:
        response = client.request(method, path, params=params)
    assert response.status_code == 400, response.text
    assert message in detail(response)


@pytest.mark.parametrize(
    ("path", "extra", "message"),
    [
        ("/v1/memories/search", {"reference_time": "2026-03-01T12:00:00"}, "timezone"),
        ("/v1/memories/search", {"as_of": "2026-03-01T12:00:00"}, "timezone"),
        ("/v1/memories/search", {"known_as_of": "0001-01-01T00:00:00Z"}, "known_as_of"),
        ("/v1/memories/search", {"filters": {"occurred_after": "2026-03-01T12:00:00"}}, "timezone"),
        ("/v1/memories/search", {"filters": {"metadata": {"k": "v\u0000"}}}, "filters.metadata['k'] contains a NUL"),
        ("/v1/memories/search", {"query": "bees\u0000"}, "query contains a NUL"),
        ("/v1/memories/search", {"user_id": "alice\n"}, "user_id"),
        ("/v1/context", {"max_tokens": 200, "as_of": "2026-03-01T12:00:00"}, "timezone"),
    ],
)
def test_reads_refuse_naive_times_and_bad_input(
    system: RunningSystem, path: str, extra: dict[str, Any], message: str
) -> None:
    request = {"query": "bees", "user_id": "alice", "app_id": system.app_id, **extra}
    with system.client() as client:
        response = client.post(path, json=request)
    assert response.status_code == 400, response.text
    assert message in detail(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/memories"),
        ("PUT", f"/v1/memories/{SOME_ID}"),
        ("POST", "/v1/memories/search"),
        ("POST", "/v1/context"),
    ],
)
@pytest.mark.parametrize("how", ["text/plain", "form", "no content type"])
def test_writes_take_json_only(system: RunningSystem, nothing_written: None, method: str, path: str, how: str) -> None:
    fields = {"user_id": "alice", "app_id": system.app_id, "text": "I keep bees.", "query": "bees", "max_tokens": 200}
    with system.client() as client:
        if how == "form":  # what a cross-site HTML form sends
            response = client.request(method, path, data={k: str(v) for k, v in fields.items()})
        else:  # a valid JSON body: only its declared type is wrong
            headers = {"content-type": "text/plain"} if how == "text/plain" else {}
            response = client.request(method, path, content=json.dumps(fields).encode(), headers=headers)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]


def test_a_delete_without_a_body_keeps_working_and_one_with_a_text_body_is_415(system: RunningSystem) -> None:
    params = {"user_id": unique("u-"), "app_id": system.app_id}
    with system.client() as client:
        before = written(system)
        refused = client.request(
            "DELETE", "/v1/memories", params=params, content=b"x", headers={"content-type": "text/plain"}
        )
        assert refused.status_code == 415, refused.text
        assert written(system) == before
        erased = client.delete("/v1/memories", params=params)  # no body, no content type: curl -X DELETE
    assert erased.status_code == 202, erased.text
    assert written(system) == before + 1


def with_text(turn: ConversationTurnReceived, text: str) -> ConversationTurnReceived:
    return type(turn)(**{**turn.__dict__, "text": text})


def logged_turns(system: RunningSystem) -> set[str]:
    with psycopg.connect(system.settings.postgres_dsn) as conn:
        rows = conn.execute("SELECT event_id FROM conversation_turns WHERE app_id = %s", (system.app_id,)).fetchall()
    return {event_id for (event_id,) in rows}


def postgres_has_read(system: RunningSystem, positions: list[LogPosition]) -> bool:
    with psycopg.connect(system.settings.postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT partition, log_offset FROM projection_checkpoints WHERE projection = 'postgres' AND topic = %s",
            (system.settings.topics.turns,),
        ).fetchall()
    checkpoint: dict[int, int] = dict(rows)
    return all(checkpoint.get(p.partition, -1) >= p.offset for p in positions)


def test_invalid_turns_on_kafka_are_dead_lettered_with_the_reason_and_not_logged(system: RunningSystem) -> None:
    settings, codec, user = system.settings, Codec(), unique("u-")
    refused = {
        "turn text contains a NUL character": with_text(make_turn(user, "x", "nul", app_id=system.app_id), "bees\x00"),
        "turn text is empty": with_text(make_turn(user, "x", "empty", app_id=system.app_id), "  \n "),
        "scope.user_id": make_turn(f"{user}\n", "I keep bees in Lyon.", "newline", app_id=system.app_id),
    }
    good = make_turn(user, "I keep bees on my balcony in Lyon.", "good", app_id=system.app_id)
    turns = [*refused.values(), good]
    positions = SyncProducer(make_producer(settings)).produce_all(
        [(settings.topics.turns, t.scope.key.encode(), codec.encode(t)) for t in turns]
    )

    def memories() -> list[dict[str, Any]]:
        with system.client() as client:
            response = client.get("/v1/memories", params={"user_id": user, "app_id": system.app_id})
        found: list[dict[str, Any]] = response.json()["results"]
        return found

    assert "bees" in wait_until(memories, timeout=60, what="the good turn's memory")[0]["memory"]

    wanted = {(p.partition, p.offset) for p in positions}

    def letters() -> dict[tuple[int, int], str]:
        mine = {
            (letter.origin_partition, letter.origin_offset): letter.reason
            for _, letter in read_dead_letters(settings)
            if letter.component == "streams.extraction" and (letter.origin_partition, letter.origin_offset) in wanted
        }
        return mine if len(mine) == len(refused) else {}

    reasons = wait_until(letters, timeout=60, what="a dead letter for each refused turn")
    for expected, position in zip(refused, positions, strict=False):  # the good turn, last, has none
        assert expected in reasons[(position.partition, position.offset)], reasons

    wait_until(lambda: postgres_has_read(system, positions), timeout=60, what="the PostgreSQL projector past them")
    logged = logged_turns(system)
    assert good.event_id in logged
    assert logged.isdisjoint(t.event_id for t in refused.values())
