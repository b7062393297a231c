"""Sessions as the core defines them (``memory.conversations.sessions``): inferred from the gaps between turns,
a function of the set of turns whatever order they came in; and the turn's ``session_id`` on the log, which turns
written before it existed still decode without."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory.contract.codec import SCHEMA_DIR, Codec, load_schema_file
from memory.contract.events import ConversationTurnReceived
from memory.contract.records import to_record
from memory.conversations.sessions import (
    DEFAULT_GAP,
    TOOL_METADATA_KEY,
    Reach,
    Span,
    infer_sessions,
    is_conversation,
    merge_sessions,
    session_order,
)
from memory.errors import InvalidEventError
from memory.ingest.derivation import validate_turn
from tests.support import make_turn

T0 = datetime(2026, 5, 8, 9, 0, tzinfo=UTC)
GAP = timedelta(minutes=30)


def at(*minutes: float) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in minutes]


def test_a_pause_longer_than_the_gap_starts_a_new_session_and_one_of_exactly_the_gap_does_not() -> None:
    spans = infer_sessions(at(0, 5, 35, 65.01, 70), GAP)
    assert spans == [
        Span(T0, T0 + timedelta(minutes=35), 3),  # 5 -> 35 is exactly the gap: same sitting
        Span(T0 + timedelta(minutes=65.01), T0 + timedelta(minutes=70), 2),
    ]


def test_no_turns_no_sessions_and_one_turn_one_session_of_no_length() -> None:
    assert infer_sessions([], GAP) == []
    assert infer_sessions(at(0), GAP) == [Span(T0, T0, 1)]


def test_turns_said_at_the_same_time_are_one_session_counted_each() -> None:
    assert infer_sessions(at(0, 0, 0), GAP) == [Span(T0, T0, 3)]


def test_a_zero_gap_splits_at_every_distinct_time_and_a_negative_one_is_refused() -> None:
    assert [s.turn_count for s in infer_sessions(at(0, 0, 1, 2), timedelta(0))] == [2, 1, 1]
    with pytest.raises(ValueError, match="negative"):
        infer_sessions(at(0), timedelta(minutes=-1))


def test_a_late_turn_between_two_sessions_within_the_gap_of_both_merges_them() -> None:
    before = infer_sessions(at(0, 10, 50, 60), GAP)
    assert [s.turn_count for s in before] == [2, 2]
    after = infer_sessions(at(0, 10, 50, 60, 30), GAP)  # 20 minutes from each side
    assert after == [Span(T0, T0 + timedelta(minutes=60), 5)]


def test_a_late_turn_far_from_both_stands_alone_and_the_sessions_after_it_move_down_one_number() -> None:
    spans = infer_sessions(at(0, 300, 150), GAP)
    assert spans == [Span(T0, T0, 1), Span(T0 + timedelta(minutes=150), T0 + timedelta(minutes=150), 1),
                     Span(T0 + timedelta(minutes=300), T0 + timedelta(minutes=300), 1)]  # fmt: skip


def test_a_late_turn_before_the_first_session_extends_it_or_becomes_session_one() -> None:
    assert infer_sessions(at(60, 70, 40), GAP) == [Span(T0 + timedelta(minutes=40), T0 + timedelta(minutes=70), 3)]
    assert infer_sessions(at(60, 70, 0), GAP)[0] == Span(T0, T0, 1)


minutes = st.lists(st.integers(min_value=0, max_value=24 * 60 * 3), max_size=60)


@given(minutes, st.integers(min_value=0, max_value=240), st.randoms(use_true_random=False))
def test_sessions_depend_only_on_the_set_of_turns_and_split_exactly_at_the_long_pauses(
    offsets: list[int], gap_minutes: int, shuffler: random.Random
) -> None:
    gap = timedelta(minutes=gap_minutes)
    times = at(*offsets)
    spans = infer_sessions(times, gap)
    shuffled = list(times)
    shuffler.shuffle(shuffled)
    assert infer_sessions(shuffled, gap) == spans  # arrival order never matters
    assert sum(s.turn_count for s in spans) == len(times)
    assert spans == sorted(spans)
    for earlier, later in pairwise(spans):
        assert later.started_at - earlier.ended_at > gap  # sessions are more than the gap apart
    for span in spans:  # ...and within one, no pause is longer than the gap
        inside = sorted(t for t in times if span.started_at <= t <= span.ended_at)
        assert len(inside) == span.turn_count
        assert all(b - a <= gap for a, b in pairwise(inside))


def test_the_default_gap_is_thirty_minutes_and_tool_turns_are_no_conversation() -> None:
    assert timedelta(minutes=30) == DEFAULT_GAP
    assert not is_conversation({TOOL_METADATA_KEY: "archival_memory_insert"})
    assert is_conversation({"topic": "travel"})


def test_sessions_are_numbered_by_start_then_end_and_an_inferred_one_before_an_explicit_one() -> None:
    keys = [
        session_order(T0, T0 + GAP, "b"),
        session_order(T0, T0 + GAP, None),
        session_order(T0, T0, "z"),
        session_order(T0 - GAP, T0, "a"),
        session_order(T0, T0 + GAP, "a"),
    ]
    assert sorted(keys) == [keys[3], keys[2], keys[1], keys[4], keys[0]]


# --- the contract: ConversationTurnReceived.session_id -----------------------------------------------------------

# A turn as the code before sessions (commit c18b3a8) encoded it, byte for byte: conversation c-1, turn t-1.
V1_TURN_BYTES = bytes.fromhex(
    "c3019e71275259094afc4830303030303030302d303030302d343030302d383030302d30303030303030303030303130436f6e7665"
    "72736174696f6e5475726e526563656976656402066170700a616c69636500008090cdf2d3d2a8068090cdf2d3d2a8060000066170"
    "690a302e312e3006632d3106742d310875736572002449206d6f76656420746f204c6973626f6e2e0100"
)
V1_TURN = SCHEMA_DIR / "history" / "conversation_turn_received.v1.avsc"


def test_a_turn_written_before_sessions_still_decodes_without_a_session() -> None:
    codec = Codec()
    decoded = codec.decode(V1_TURN_BYTES)
    assert isinstance(decoded, ConversationTurnReceived)
    assert (decoded.conversation_id, decoded.turn_id, decoded.text) == ("c-1", "t-1", "I moved to Lisbon.")
    assert decoded.session_id is None
    # The kept history schema is what wrote it: its fingerprint is the header's, not today's.
    envelope = json.loads((SCHEMA_DIR / "envelope.avsc").read_text())
    v1 = load_schema_file(V1_TURN, envelope)
    assert codec.encode_dict("memstream.ConversationTurnReceived", to_record(decoded), schema=v1) == V1_TURN_BYTES
    assert V1_TURN_BYTES[2:10] != codec.fingerprint_of("memstream.ConversationTurnReceived")


def test_a_session_id_round_trips_and_one_breaking_the_id_rule_is_an_invalid_turn() -> None:
    turn = replace(make_turn("alice", "Hello there.", "t-1"), session_id="s-1")
    assert Codec().decode(Codec().encode(turn)) == turn
    with pytest.raises(InvalidEventError, match="session_id"):
        validate_turn(replace(turn, session_id="two words"))


@given(minutes, minutes, st.integers(min_value=0, max_value=240))
def test_merging_new_turns_into_the_sessions_of_the_old_ones_is_inferring_from_all(
    old: list[int], new: list[int], gap_minutes: int
) -> None:
    """What lets the projector update from the stored sessions alone, never reading stored turns back."""
    gap = timedelta(minutes=gap_minutes)
    assert merge_sessions(infer_sessions(at(*old), gap), at(*new), gap) == infer_sessions(at(*old, *new), gap)


@given(minutes, minutes, st.integers(min_value=0, max_value=240))
def test_merging_only_the_sessions_within_reach_leaves_the_others_as_they_are(
    old: list[int], new: list[int], gap_minutes: int
) -> None:
    """The projector merges the stored sessions within the new turns' ``Reach`` and keeps the rest: together that
    is every session of the whole set."""
    if not new:
        return
    gap = timedelta(minutes=gap_minutes)
    reach = Reach.of(at(*new), gap)
    stored = infer_sessions(at(*old), gap)
    near = [s for s in stored if s.ended_at >= reach.low and s.started_at <= reach.high]
    kept = [s for s in stored if s not in near]
    assert sorted(kept + merge_sessions(near, at(*new), gap)) == infer_sessions(at(*old, *new), gap)
