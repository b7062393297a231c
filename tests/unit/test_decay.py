from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from memory.lifecycle.decay import (
    DECAYING_BELOW,
    FORGET_BELOW,
    access_boost,
    current_importance,
    decay_decision,
)
from memory.lifecycle.machine import MemoryState, can_transition

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)


@pytest.mark.parametrize(
    ("elapsed_days", "expected"), [(0, 0.5), (15, 0.5 * 2**-0.5), (30, 0.25), (60, 0.125), (90, 0.0625)]
)
def test_importance_halves_every_half_life(elapsed_days: float, expected: float) -> None:
    assert current_importance(0.5, 0, T0, days(elapsed_days), pinned=False) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("accesses", "boost"), [(0, 0.0), (1, 0.05), (3, 0.10), (7, 0.15), (15, 0.20), (63, 0.30), (10_000, 0.30)]
)
def test_each_doubling_of_accesses_adds_the_same_boost_up_to_the_cap(accesses: int, boost: float) -> None:
    assert access_boost(accesses) == pytest.approx(boost)
    assert current_importance(0.4, accesses, T0, T0, pinned=False) == pytest.approx(0.4 + boost)


def test_boost_has_diminishing_returns() -> None:
    gains = [access_boost(n + 1) - access_boost(n) for n in range(10)]
    assert all(later < earlier for earlier, later in itertools.pairwise(gains))


def test_importance_never_exceeds_one() -> None:
    assert current_importance(0.9, 63, T0, T0, pinned=False) == 1.0
    assert current_importance(0.9, 63, T0, T0, pinned=True) == 1.0


def test_boost_and_decay_combine() -> None:
    # (0.5 + 0.10) halved once: the clock runs from the last access, not from creation.
    assert current_importance(0.5, 3, days(100), days(130), pinned=False) == pytest.approx(0.30)


def test_pinned_never_decays_but_still_gains_from_access() -> None:
    assert current_importance(0.4, 0, T0, days(3650), pinned=True) == pytest.approx(0.4)
    assert current_importance(0.4, 3, T0, days(3650), pinned=True) == pytest.approx(0.5)


def test_time_running_backwards_counts_as_no_time() -> None:
    assert current_importance(0.4, 0, days(10), days(5), pinned=False) == pytest.approx(0.4)


def test_negative_access_count_is_a_bug() -> None:
    with pytest.raises(ValueError, match="access_count"):
        current_importance(0.4, -1, T0, T0, pinned=False)


def test_mixing_naive_and_aware_times_is_refused() -> None:
    with pytest.raises(TypeError):
        current_importance(0.4, 0, datetime(2026, 1, 1), days(1), pinned=False)


def test_small_talk_starts_decaying_between_days_47_and_48() -> None:
    # 0.30 * 0.5 ** (47/30) = 0.1013; 0.30 * 0.5 ** (48/30) = 0.0990.
    before = current_importance(0.30, 0, T0, days(47), pinned=False)
    after = current_importance(0.30, 0, T0, days(48), pinned=False)
    assert before == pytest.approx(0.1013, abs=1e-4)
    assert after == pytest.approx(0.0990, abs=1e-4)
    assert decay_decision(MemoryState.ACTIVE, before, pinned=False) is None
    assert decay_decision(MemoryState.ACTIVE, after, pinned=False) is MemoryState.DECAYING


def test_small_talk_is_forgotten_between_days_99_and_100() -> None:
    # 0.30 * 0.5 ** (99/30) = 0.0305; 0.30 * 0.5 ** (100/30) = 0.0298.
    before = current_importance(0.30, 0, T0, days(99), pinned=False)
    after = current_importance(0.30, 0, T0, days(100), pinned=False)
    assert decay_decision(MemoryState.DECAYING, before, pinned=False) is None
    assert decay_decision(MemoryState.DECAYING, after, pinned=False) is MemoryState.FORGOTTEN


def test_an_access_brings_a_decaying_memory_back() -> None:
    fading = current_importance(0.30, 0, T0, days(80), pinned=False)
    assert decay_decision(MemoryState.DECAYING, fading, pinned=False) is None
    accessed = current_importance(0.30, 1, days(80), days(80), pinned=False)
    assert accessed == pytest.approx(0.35)
    assert decay_decision(MemoryState.DECAYING, accessed, pinned=False) is MemoryState.ACTIVE


@pytest.mark.parametrize(
    ("state", "importance", "pinned", "expected"),
    [
        (MemoryState.ACTIVE, 0.5, False, None),
        (MemoryState.ACTIVE, DECAYING_BELOW, False, None),  # "below" is strict
        (MemoryState.ACTIVE, 0.0999, False, MemoryState.DECAYING),
        (MemoryState.ACTIVE, 0.01, False, MemoryState.DECAYING),  # one step at a time, never straight to forgotten
        (MemoryState.ACTIVE, 0.01, True, None),
        (MemoryState.DECAYING, 0.05, False, None),
        (MemoryState.DECAYING, DECAYING_BELOW, False, MemoryState.ACTIVE),
        (MemoryState.DECAYING, FORGET_BELOW, False, None),
        (MemoryState.DECAYING, 0.0299, False, MemoryState.FORGOTTEN),
        (MemoryState.DECAYING, 0.0, True, MemoryState.ACTIVE),  # pinning rescues
        (MemoryState.RECALLED, 0.0, False, None),
        (MemoryState.EXTRACTED, 0.0, False, None),
        (MemoryState.ARCHIVED, 0.0, False, None),
        (MemoryState.CONSOLIDATING, 0.0, False, None),
        (MemoryState.FORGOTTEN, 0.9, False, None),
        (MemoryState.STORED, 0.0, False, None),
    ],
)
def test_decay_decision(state: MemoryState, importance: float, pinned: bool, expected: MemoryState | None) -> None:
    assert decay_decision(state, importance, pinned) is expected


def test_every_decision_is_a_legal_transition() -> None:
    for state, importance, pinned in itertools.product(
        MemoryState, [0.0, 0.02, 0.03, 0.05, 0.1, 0.5, 1.0], [False, True]
    ):
        target = decay_decision(state, importance, pinned)
        if target is not None:
            assert can_transition(state, target), (state, importance, pinned, target)
