"""Every ordered pair of lifecycle states against the design seed, written out here by hand.

The expected table is spelled as the seed reads (chains of arrows), not derived from ``TRANSITIONS``,
so a change to the code's table that the design did not ask for fails here.
"""

from __future__ import annotations

import itertools

import pytest

from memory.errors import IllegalTransition, InvalidEventError
from memory.lifecycle import MemoryState, advance, can_transition, check_transition, sources_of

# The design seed, arrow by arrow (DESIGN.md §3), plus the two shortcuts the code documents.
CHAINS: tuple[tuple[str, ...], ...] = (
    ("extracted", "embedding", "stored", "active"),
    ("extracted", "stored"),  # the embedder may skip the in-flight state
    ("active", "accessed", "active"),  # Active ↔ Accessed
    ("active", "consolidating", "archived", "recalled", "active"),
    ("consolidating", "active"),  # an abandoned consolidation
    ("active", "decaying", "forgotten"),
    ("decaying", "active"),  # an access rescues a decaying memory
)
EXPECTED: frozenset[tuple[str, str]] = frozenset((a, b) for chain in CHAINS for a, b in itertools.pairwise(chain))
ALL_PAIRS = list(itertools.product(MemoryState, MemoryState))


def test_the_expected_table_has_fourteen_edges_over_ten_states() -> None:
    # Guards the hand-written table itself: a typo in a state name would silently shrink it.
    assert len(EXPECTED) == 14
    assert {s for pair in EXPECTED for s in pair} == {s.value for s in MemoryState}
    assert len(ALL_PAIRS) == 100


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
        check_transition(MemoryState.DECAYING, MemoryState.ACCESSED)
    assert str(caught.value) == (
        "illegal transition from 'decaying' to 'accessed'; from 'decaying' allowed: active, forgotten"
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
    assert sources_of(MemoryState.ACTIVE) == ["stored", "accessed", "consolidating", "recalled", "decaying"]
    assert sources_of(MemoryState.EXTRACTED) == []
