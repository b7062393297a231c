import itertools

import pytest

from memory.lifecycle.machine import TRANSITIONS, MemoryState, advance, can_transition
from memory.retrieval.fusion import reciprocal_rank_fusion


def test_rrf_scores_follow_the_formula() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a", "b"], "sparse": ["b", "c"]}, k=60)
    scores = {h.memory_id: h.score for h in fused}
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert [h.memory_id for h in fused] == ["b", "a", "c"]
    assert fused[0].ranks == {"dense": 2, "sparse": 1}


def test_rrf_weights_change_the_order() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a"], "sparse": ["b"]}, weights={"dense": 1.0, "sparse": 2.0})
    assert [h.memory_id for h in fused] == ["b", "a"]


def test_rrf_counts_a_repeated_id_once_per_retriever() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a", "a"]}, k=0)
    assert fused[0].score == pytest.approx(1.0)


ALLOWED = {
    ("extracted", "stored"),
    ("stored", "active"),
    ("active", "consolidating"),
    ("consolidating", "archived"),
    ("consolidating", "active"),
    ("archived", "recalled"),
    ("recalled", "active"),
    ("active", "decaying"),
    ("decaying", "forgotten"),
    ("decaying", "active"),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(MemoryState, MemoryState)))
def test_every_pair_of_states(current: MemoryState, target: MemoryState) -> None:
    allowed = (current.value, target.value) in ALLOWED
    assert can_transition(current, target) is allowed
    assert advance(current, target) == (target if allowed else current)


def test_forgotten_is_final() -> None:
    assert TRANSITIONS[MemoryState.FORGOTTEN] == frozenset()
