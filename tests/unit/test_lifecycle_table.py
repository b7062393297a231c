"""Every ordered pair of lifecycle states against the machine the README draws, written out here by hand.

The expected table is spelled as the README reads (chains of arrows), not derived from ``TRANSITIONS``,
so a change to the code's table that the drawing does not show fails here.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from memory.contract.events import Envelope, MemoryActivated, MemoryDecayed, MemoryRescued, Producer, Scope
from memory.errors import IllegalTransition, InvalidEventError
from memory.lifecycle.machine import (
    RETIRED_STATE_NAMES,
    MemoryState,
    advance,
    can_transition,
    check_transition,
    sources_of,
    state_named,
)
from memory.lifecycle.transitions import is_rescue, moves, sources_for, target_state

# README, "The memory lifecycle", arrow by arrow, plus the one edge the code documents beside it. The seed's
# Embedding and Accessed are gone: no event ever entered them (memory.lifecycle.machine says why).
CHAINS: tuple[tuple[str, ...], ...] = (
    ("extracted", "stored", "active"),
    ("active", "consolidating", "archived", "recalled", "active"),
    ("consolidating", "active"),  # an abandoned consolidation
    ("active", "decaying", "forgotten"),
    ("decaying", "active"),  # rescued: found again by a search, or pinned (MemoryRescued)
)
EXPECTED: frozenset[tuple[str, str]] = frozenset((a, b) for chain in CHAINS for a, b in itertools.pairwise(chain))
ALL_PAIRS = list(itertools.product(MemoryState, MemoryState))


def test_the_expected_table_has_ten_edges_over_eight_states() -> None:
    # Guards the hand-written table itself: a typo in a state name would silently shrink it.
    assert len(EXPECTED) == 10
    assert {s for pair in EXPECTED for s in pair} == {s.value for s in MemoryState}
    assert len(ALL_PAIRS) == 64


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_every_ordered_pair(current: MemoryState, target: MemoryState) -> None:
    allowed = (current.value, target.value) in EXPECTED
    assert can_transition(current, target) is allowed
    assert advance(current, target) is (target if allowed else current)
    if allowed:
        check_transition(current, target)  # raises if the code disagrees
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, target)
        assert caught.value.current == current.value
        assert caught.value.target == target.value
        assert f"'{current.value}'" in str(caught.value)
        assert f"'{target.value}'" in str(caught.value)


def test_illegal_transition_is_an_invalid_event_so_agents_dead_letter_it() -> None:
    with pytest.raises(InvalidEventError):
        check_transition(MemoryState.ARCHIVED, MemoryState.DECAYING)


def test_the_reason_lists_what_is_allowed_instead() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(MemoryState.DECAYING, MemoryState.STORED)
    assert str(caught.value) == (
        "illegal transition from 'decaying' to 'stored'; from 'decaying' allowed: active, forgotten"
    )
    assert caught.value.allowed == ("active", "forgotten")


def test_the_reason_for_a_final_state_says_so() -> None:
    with pytest.raises(IllegalTransition, match=r"from 'forgotten' allowed: nothing \(final state\)"):
        check_transition(MemoryState.FORGOTTEN, MemoryState.ACTIVE)


def test_staying_put_is_not_a_transition() -> None:
    for state in MemoryState:
        with pytest.raises(IllegalTransition):
            check_transition(state, state)


@pytest.mark.parametrize("target", list(MemoryState), ids=[s.value for s in MemoryState])
def test_sources_of_inverts_the_table(target: MemoryState) -> None:
    expected = {a for a, b in EXPECTED if b == target.value}
    sources = sources_of(target)
    assert set(sources) == expected
    assert len(sources) == len(expected)  # no repeats
    # Declaration order, so a Cypher parameter built from it is stable between runs.
    order = [s.value for s in MemoryState]
    assert sources == sorted(sources, key=order.index)


def test_sources_of_active_are_every_way_back_in() -> None:
    assert sources_of(MemoryState.ACTIVE) == ["stored", "consolidating", "recalled", "decaying"]
    assert sources_of(MemoryState.EXTRACTED) == []


def test_the_seeds_retired_names_are_gone_from_the_machine_but_still_read_in_requests() -> None:
    assert {"embedding", "accessed"}.isdisjoint(s.value for s in MemoryState)
    # A memory being embedded is Extracted until MemoryEmbedded; an accessed memory stays Active.
    assert RETIRED_STATE_NAMES == {"embedding": MemoryState.EXTRACTED, "accessed": MemoryState.ACTIVE}
    assert state_named("accessed") is MemoryState.ACTIVE
    assert state_named("embedding") is MemoryState.EXTRACTED
    assert state_named("decaying") is MemoryState.DECAYING


def test_a_name_that_was_never_a_state_is_refused_with_the_states_listed() -> None:
    with pytest.raises(ValueError) as caught:
        state_named("fading")
    assert str(caught.value) == (
        "unknown state 'fading'; the states are extracted, stored, active, consolidating, archived, recalled,"
        " decaying, forgotten; also accepted: embedding (read as extracted), accessed (read as active)"
    )


def _envelope(event_type: str) -> Envelope:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    return Envelope("e", event_type, 1, Scope("a", "u"), at, at, None, None, Producer("t"))


RESCUES = [
    MemoryRescued(_envelope("MemoryRescued"), memory_id="m", importance=0.5, request_id="r"),
    MemoryDecayed(_envelope("MemoryDecayed"), memory_id="m", importance=0.5, state="active"),  # as old logs write it
]


@pytest.mark.parametrize("rescue", RESCUES, ids=["rescued", "decayed-active"])
def test_a_rescue_names_one_edge_decaying_to_active(rescue: MemoryRescued | MemoryDecayed) -> None:
    assert is_rescue(rescue) and target_state(rescue) is MemoryState.ACTIVE
    assert sources_for(rescue, MemoryState.ACTIVE) == ["decaying"]
    assert [s for s in MemoryState if moves(rescue, s, MemoryState.ACTIVE)] == [MemoryState.DECAYING]


def test_other_events_take_every_way_the_table_has_into_their_state() -> None:
    activated = MemoryActivated(_envelope("MemoryActivated"), memory_id="m")
    decaying = MemoryDecayed(_envelope("MemoryDecayed"), memory_id="m", importance=0.05, state="decaying")
    assert not is_rescue(activated) and not is_rescue(decaying)
    assert sources_for(activated, MemoryState.ACTIVE) == sources_of(MemoryState.ACTIVE)
    assert sources_for(decaying, MemoryState.DECAYING) == ["active"]
