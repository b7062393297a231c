"""Batch settlement (streams.settlement), bounded dead letters (adapters.dead_letters) and fault points."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from faust.types import TP

from adapters.dead_letters import (
    KEY_PREFIX_BYTES,
    MAX_DEAD_LETTER_BYTES,
    PAYLOAD_PREFIX_BYTES,
    REASON_CHARS,
    dead_letter,
)
from adapters.faults import FaultPlan, InjectedFault, InjectedOutage
from memory.contract.codec import SCHEMA_DIR, Codec, load_schema_file
from memory.contract.events import DeadLetter
from memory.contract.positions import LogPosition
from projections.errors import is_transient
from replay.deadletters import distinct
from streams.offsets import committable
from streams.settlement import Settlement, retrying

TURNS = TP("turns", 0)


@dataclass
class _Message:
    tp: TP
    offset: int


@dataclass
class _Event:
    message: _Message


def events(*offsets: int) -> list[_Event]:
    return [_Event(_Message(TURNS, o)) for o in offsets]


def test_a_batch_is_unsettled_while_taken_and_settled_when_finished() -> None:
    settlement = Settlement()
    batch = events(3, 4)
    settlement.take(batch)
    assert settlement.unsettled(TURNS) == {3, 4} and settlement.is_taken(TURNS, 3)
    settlement.finish(batch)
    assert settlement.unsettled(TURNS) == set() and not settlement.has_failed(TURNS)


def test_a_failed_batch_stays_unsettled_until_it_is_delivered_again() -> None:
    settlement = Settlement()
    batch = events(3, 4)
    settlement.take(batch)
    settlement.fail(batch)
    assert settlement.unsettled(TURNS) == {3, 4} and settlement.has_failed(TURNS)
    settlement.take(batch)  # the stall watch re-read it
    settlement.finish(batch)
    assert settlement.unsettled(TURNS) == set() and not settlement.has_failed(TURNS)


def test_two_agents_on_one_offset_both_have_to_finish_it() -> None:
    settlement = Settlement()
    settlement.take(events(7))  # embedding
    settlement.take(events(7))  # lifecycle
    settlement.finish(events(7))
    assert settlement.unsettled(TURNS) == {7}
    settlement.finish(events(7))
    assert settlement.unsettled(TURNS) == set()


async def test_the_settling_block_marks_failure_logs_it_and_lets_the_agent_go_on() -> None:
    settlement = Settlement()
    batch = events(1, 2)
    async with settlement.settling(batch, "test"):
        raise RuntimeError("broker gone")
    assert settlement.has_failed(TURNS) and settlement.unsettled(TURNS) == {1, 2}
    with pytest.raises(asyncio.CancelledError):  # shutdown is not swallowed, and leaves the batch unsettled
        async with settlement.settling(events(3), "test"):
            raise asyncio.CancelledError
    assert 3 in settlement.unsettled(TURNS)


async def test_sends_are_retried_and_the_last_failure_propagates() -> None:
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not yet")

    await retrying("test", flaky, attempts=3)
    assert len(calls) == 3

    async def broken() -> None:
        raise ConnectionError("never")

    with pytest.raises(ConnectionError):
        await retrying("test", broken, attempts=2)


def test_a_dead_letter_is_bounded_whatever_the_size_of_the_original() -> None:
    codec = Codec()
    for size in (0, 10, PAYLOAD_PREFIX_BYTES + 1, 1_048_000, 10_000_000):
        payload, key = b"p" * size, b"k" * (size // 4)
        record = dead_letter(codec, "c", "r" * size, RuntimeError("x"), "turns", 1, 99, key, payload)
        assert len(record) <= MAX_DEAD_LETTER_BYTES
        letter = codec.decode(record)
        assert letter.payload == payload[:PAYLOAD_PREFIX_BYTES] and letter.payload_size == size
        assert letter.origin_key == key[:KEY_PREFIX_BYTES] and letter.key_size == len(key)
        assert len(letter.reason) <= REASON_CHARS
        assert (letter.origin_topic, letter.origin_partition, letter.origin_offset) == ("turns", 1, 99)
        assert letter.holds_whole_message == (size <= PAYLOAD_PREFIX_BYTES and len(key) <= KEY_PREFIX_BYTES)


def test_dead_letters_written_before_the_bound_still_read_whole() -> None:
    envelope_free = load_schema_file(SCHEMA_DIR / "history" / "dead_letter.v1.avsc", {})
    record = {
        "dead_letter_id": "d", "reason": "r", "error_type": "E", "component": "c", "origin_topic": "t",
        "origin_partition": 0, "origin_offset": 5, "origin_key": b"k", "payload": b"whole message",
        "failed_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    letter = Codec().decode(Codec().encode_dict("memstream.DeadLetter", record, schema=envelope_free))
    assert isinstance(letter, DeadLetter)
    assert letter.payload == b"whole message" and letter.payload_size is None and letter.holds_whole_message


def test_fault_plans_poison_by_needle_and_fail_a_number_of_times() -> None:
    plan = FaultPlan.parse("extraction.turn~POISON;deadletter.send*2")
    plan.trip("extraction.turn", "an ordinary turn")
    with pytest.raises(InjectedFault):
        plan.trip("extraction.turn", "a POISON turn")
    for _ in range(2):
        with pytest.raises(InjectedOutage) as outage:
            plan.trip("deadletter.send")
        assert is_transient(outage.value)  # a projector waits an outage out instead of dead-lettering
    plan.trip("deadletter.send")
    assert not is_transient(InjectedFault("poison"))
    with pytest.raises(ValueError):
        FaultPlan.parse("nonsense")


def test_a_dead_letter_written_twice_is_listed_once() -> None:
    codec = Codec()
    record = codec.decode(dead_letter(codec, "c", "r", "E", "turns", 0, 5, None, b"x"))
    other = codec.decode(dead_letter(codec, "c", "r", "E", "turns", 0, 6, None, b"y"))
    first, again, second = LogPosition("dl", 0, 0), LogPosition("dl", 0, 1), LogPosition("dl", 0, 2)
    assert distinct([(first, record), (again, record), (second, other)]) == [(first, record), (second, other)]


def test_only_offsets_every_reader_of_the_topic_finished_are_done() -> None:
    # Faust acknowledges what its stream skipped around a rebalance; the commit trusts only finished batches.
    settlement = Settlement()
    settlement.reads("streams.embedding", TURNS.topic)
    settlement.reads("streams.lifecycle", TURNS.topic)
    settlement.take(events(7, 8))
    settlement.finish(events(7, 8), "streams.embedding")
    assert settlement.done(TURNS) == []
    settlement.take(events(7))
    settlement.finish(events(7), "streams.lifecycle")
    assert settlement.done(TURNS) == [7]
    assert committable(7, settlement.done(TURNS), settlement.unsettled(TURNS)) == 8
    settlement.prune(TURNS, 8)
    assert settlement.done(TURNS) == []
    assert settlement.done(TP("another.topic", 0)) == []  # nobody declared it: nothing is done there
