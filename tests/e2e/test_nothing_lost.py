"""Nothing lost, whatever comes in: the fault drill, through the real worker, projectors, broker and stores.

One ingest of ordinary turns from many users, with, in the middle of it:
- **poison** for every agent and every projector (``adapters.faults``): a turn the extractor fails on, a
  memory the embedder fails on, one the lifecycle fails on, and one each of the four projectors fails on;
- **oversized and undecodable messages** of every size up to the broker's limit, on every topic;
- **outages**: the dead-letter producer fails its first sends in every process, every agent's sends fail
  (the extraction's and the lifecycle's more often than they are retried in place, so whole batches fail and
  are read again), every projector's store is briefly away;
- **restarts**: the worker and the projectors are stopped (SIGTERM) mid-ingest and started again.

Then every valid turn of every user is exactly one active memory in every store, each poison is
dead-lettered by the component that failed on it with the reason, every dead letter fits, and re-drive
reads the original back from the log.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from adapters.dead_letters import MAX_DEAD_LETTER_BYTES, PAYLOAD_PREFIX_BYTES
from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.kafka_auth import client_config
from memory.contract.codec import Codec
from memory.contract.events import ConversationTurnReceived, DeadLetter
from memory.contract.ids import memory_id_for
from memory.contract.positions import LogPosition
from memory.settings import Settings
from memstream_cli.processes import System, start_system
from replay.deadletters import read_dead_letters, redrive
from tests.e2e.conftest import free_port
from tests.e2e.test_crash_safety import (
    Offsets,
    Stores,
    active_memories,
    expected_memories,
    live_snapshots,
    scope_keys,
    synthetic_turns,
    wait_settled,
)
from tests.support import isolated_settings, make_turn, unique, wait_until, wait_while_progressing

pytestmark = pytest.mark.e2e

TURNS = 240
# A value this large, plus key and framing, is just under the broker's default limit (1,048,588 bytes).
NEAR_BROKER_LIMIT = 1_040_000
OVERSIZED_SIZES = (20_001, 300_000, NEAR_BROKER_LIMIT)  # characters of text in an otherwise valid turn
GARBAGE_SIZES = (1, 100_000, NEAR_BROKER_LIMIT)  # bytes that are no Avro at all
AGENT_POISON = {
    "extraction.turn": "POISON-EXTRACT",
    "embedding.memory": "POISON-EMBED",
    "lifecycle.event": "POISON-LIFECYCLE",
}
PROJECTORS = ("postgres", "milvus", "neo4j", "redis")
OUTAGES = {
    "deadletter.send": 3,
    "extraction.send": 7,  # more than the five sends in place: the first batch fails and is read again
    "embedding.send": 2,
    "lifecycle.send": 7,
    **{f"projection.{name}.apply": 2 for name in PROJECTORS},
}


@dataclass
class Drill:
    settings: Settings
    system: System
    valid: list[ConversationTurnReceived]
    poison_turns: dict[str, ConversationTurnReceived]  # by the component that must dead-letter it
    sent: dict[LogPosition, bytes]  # the oversized and undecodable messages, where they landed
    dead_letters: list[tuple[LogPosition, DeadLetter]]
    live: dict[str, object]


def poison_turn(app_id: str, index: int, needle: str) -> ConversationTurnReceived:
    text = f"I visited the old harbour of Lisbon with Marta on trip {900 + index}, drill {needle}."
    return make_turn(f"user-{index % 7:02d}", text, f"poison-{index}", app_id=app_id)


def fault_plan(poison: dict[str, ConversationTurnReceived]) -> str:
    entries = [f"{point}~{needle}" for point, needle in AGENT_POISON.items()]
    # Projectors see memory events, not turns: their poison is the memory's id, in every event about it.
    entries += [f"projection.{name}.apply~{memory_id_for(poison[name].event_id, 0)}" for name in PROJECTORS]
    entries += [f"{point}*{count}" for point, count in OUTAGES.items()]
    return ";".join(entries)


def produce_raw(settings: Settings, messages: list[tuple[str, bytes, bytes]]) -> list[LogPosition]:
    """Uncompressed, so the sizes are the sizes the broker sees; the client's limit lifted to the broker's."""
    producer = make_producer(settings, **{"message.max.bytes": 1_100_000, "compression.type": "none"})
    return SyncProducer(producer).produce_all(messages)


def oversized_and_garbage(settings: Settings, app_id: str) -> dict[LogPosition, bytes]:
    codec = Codec()
    topics = settings.topics
    messages: list[tuple[str, bytes, bytes]] = []
    for n, size in enumerate(OVERSIZED_SIZES):
        turn = make_turn(f"big-{n}", "x" * size, f"big-{n}", app_id=app_id)
        messages.append((topics.turns, turn.scope.key.encode(), codec.encode(turn)))
    for topic in (topics.turns, topics.memories, topics.commands):
        for size in GARBAGE_SIZES:
            messages.append((topic, f"{app_id}/garbage".encode(), os.urandom(size)))
    positions = produce_raw(settings, messages)
    return {position: value for position, (_, _, value) in zip(positions, messages, strict=True)}


def feed(settings: Settings, turns: list[ConversationTurnReceived]) -> None:
    codec = Codec()
    produce_raw(settings, [(settings.topics.turns, t.scope.key.encode(), codec.encode(t)) for t in turns])


@pytest.fixture(scope="module")
def drill(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    settings = replace(isolated_settings(stack_settings), api_port=free_port())
    app_id = unique("drill-")
    ensure_topics(settings)
    valid = synthetic_turns(app_id, TURNS)
    targets = [*AGENT_POISON, *PROJECTORS]
    poison = {target: poison_turn(app_id, n, AGENT_POISON.get(target, f"POISON-{target}")) for n, target in
              enumerate(targets)}
    logs = Path(tempfile.mkdtemp(prefix="memstream-drill-"))  # kept: the processes' logs explain a failure
    system = start_system(settings, logs, ("streams", "projections"), env={"MEMSTREAM_FAULTS": fault_plan(poison)})
    offsets = Offsets(settings)
    stores = Stores.connect(settings)
    try:
        half = TURNS // 2
        feed(settings, valid[:half])
        sent = oversized_and_garbage(settings, app_id)
        feed(settings, list(poison.values()))
        # Stopped mid-ingest, while retrying sends and waiting out outages: what they held in flight must be
        # read again by their successors, not committed on the way out (SIGKILL: tests/e2e/test_crash_safety.py).
        wait_while_progressing(
            lambda: active_memories(settings, app_id), 10, stall=180, what="the pipeline to be under way"
        )
        for name in ("streams", "projections"):
            system.kill(name, signal.SIGTERM, timeout=60)
            system.restart(name)
        feed(settings, valid[half:])
        wait_settled(system, offsets, stall=240, what="every consumer to pass everything on its topics")
        keys = sorted({*scope_keys(valid), *scope_keys(list(poison.values()))})
        letters = list(read_dead_letters(settings))
        yield Drill(settings, system, valid, poison, sent, letters, live_snapshots(settings, stores, keys))
    finally:
        system.stop()
        offsets.close()
        stores.close()


def letters_from(drill: Drill, component: str) -> list[DeadLetter]:
    return [letter for _, letter in drill.dead_letters if letter.component == component]


def test_every_valid_turn_becomes_exactly_one_active_memory_in_every_store(drill: Drill) -> None:
    expected = set(expected_memories(drill.valid))
    poisoned = {memory_id_for(t.event_id, 0) for t in drill.poison_turns.values()}
    with psycopg.connect(drill.settings.postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT memory_id, state FROM memories WHERE app_id = %s", (drill.valid[0].scope.app_id,)
        ).fetchall()
        versions = conn.execute(
            "SELECT memory_id, event_type, count(*) FROM memory_versions WHERE memory_id = ANY(%s)"
            " GROUP BY memory_id, event_type HAVING count(*) > 1",
            (sorted(expected),),
        ).fetchall()
    states = {memory_id: state for memory_id, state in rows}
    assert expected <= states.keys(), f"{len(expected - states.keys())} valid memories missing from PostgreSQL"
    assert not states.keys() - expected - poisoned, "memories that no turn explains"
    assert Counter(states[m] for m in expected) == {"active": len(expected)}
    assert not versions, f"lifecycle steps recorded twice: {versions[:3]}"
    milvus = Counter(str(r["memory_id"]) for r in drill.live["milvus"])  # type: ignore[attr-defined]
    assert expected <= milvus.keys() and all(milvus[m] == 1 for m in expected), "Milvus lost or doubled memories"
    assert not milvus.keys() - expected - poisoned
    graph = Counter(m["memory_id"] for m in drill.live["neo4j"]["memories"])  # type: ignore[index]
    assert expected <= graph.keys() and all(graph[m] == 1 for m in expected), "Neo4j lost or doubled memories"
    assert not graph.keys() - expected - poisoned


def test_each_poison_is_dead_lettered_by_the_component_that_failed_on_it(drill: Drill) -> None:
    components = {
        "extraction.turn": "streams.extraction",
        "embedding.memory": "streams.embedding",
        "lifecycle.event": "streams.lifecycle",
        **{name: f"projection.{name}" for name in PROJECTORS},
    }
    for target, turn in drill.poison_turns.items():
        letters = letters_from(drill, components.get(target, ""))
        memory_id = memory_id_for(turn.event_id, 0)
        about = [
            letter for letter in letters
            if "injected fault" in letter.reason and (turn.text.encode()[:40] in letter.payload
                                                       or memory_id.encode() in letter.payload)
        ]
        assert about, f"no dead letter from {components[target]} for the {target} poison; it has {len(letters)}"


def test_oversized_and_undecodable_messages_are_dead_lettered_within_the_bound(drill: Drill) -> None:
    by_origin: dict[LogPosition, list[DeadLetter]] = {}
    for _, letter in drill.dead_letters:
        origin = LogPosition(letter.origin_topic, letter.origin_partition, letter.origin_offset)
        by_origin.setdefault(origin, []).append(letter)
    codec = Codec()
    for position, value in drill.sent.items():
        letters = by_origin.get(position, [])
        assert letters, f"{len(value)} bytes at {position} were never dead-lettered"
        for letter in letters:
            assert len(codec.encode(letter)) <= MAX_DEAD_LETTER_BYTES
            assert letter.payload == value[:PAYLOAD_PREFIX_BYTES]
            assert letter.payload_size == len(value) and letter.reason
    on_memories = [p for p in drill.sent if p.topic == drill.settings.topics.memories]
    for position in on_memories:  # every projector reads the memory log and refuses it on its own
        assert {letter.component for letter in by_origin[position]} == {f"projection.{n}" for n in PROJECTORS}
    turn_type = ConversationTurnReceived.SCHEMA_NAME
    oversized = [p for p, value in drill.sent.items() if codec.record_name(value) == turn_type]
    assert len(oversized) == len(OVERSIZED_SIZES)
    reasons = {(letter.component, letter.reason) for p in oversized for letter in by_origin[p]}
    assert all(c == "streams.extraction" and "the limit is" in r for c, r in reasons), sorted(reasons)


def test_no_dead_letter_for_a_valid_turn(drill: Drill) -> None:
    valid_ids = {t.event_id for t in drill.valid} | set(expected_memories(drill.valid))
    stray = [
        letter for _, letter in drill.dead_letters
        if any(token.encode() in letter.payload for token in valid_ids)
    ]
    assert not stray, f"valid events dead-lettered: {[(s.component, s.reason) for s in stray[:3]]}"


def test_the_faults_fired_and_were_retried(drill: Drill) -> None:
    worker, projectors = drill.system.log_tail("streams", 10**7), drill.system.log_tail("projections", 10**7)
    assert "injected outage at extraction.send" in worker
    assert "will be read again from the committed offset" in worker  # a whole batch failed, and was re-read
    assert "re-reading" in worker
    assert "injected outage at deadletter.send" in worker and "injected outage at deadletter.send" in projectors
    for name in PROJECTORS:
        assert f"injected outage at projection.{name}.apply" in projectors


def test_redrive_reads_the_whole_original_back_from_the_log(drill: Drill) -> None:
    turns_topic = drill.settings.topics.turns
    biggest = max((p for p in drill.sent if p.topic == turns_topic), key=lambda p: len(drill.sent[p]))
    letter = next(
        letter for _, letter in drill.dead_letters
        if (letter.origin_topic, letter.origin_partition, letter.origin_offset) == tuple(vars(biggest).values())
    )
    assert len(letter.payload) == PAYLOAD_PREFIX_BYTES < len(drill.sent[biggest])
    [landed] = redrive(drill.settings, [letter])
    consumer = Consumer(
        client_config(drill.settings, **{"group.id": unique("redrive-check-"), "fetch.message.max.bytes": 2_000_000})
    )
    try:
        consumer.assign([TopicPartition(landed.topic, landed.partition, landed.offset)])
        message = wait_until(lambda: consumer.poll(1.0), timeout=30, what="the re-driven message")
        assert message is not None and message.error() is None and message.value() == drill.sent[biggest]
    finally:
        consumer.close()
