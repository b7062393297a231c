"""Fusion, final ranking and recipes: the maths of hybrid search, on crafted inputs."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from memory.retrieval.fusion import reciprocal_rank_fusion
from memory.retrieval.ranking import Candidate, rank, recency
from memory.retrieval.recipes import RECIPES, Retriever, SearchRecipe, UnknownRecipe, recipe_named

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_rrf_weights_scale_one_retrievers_vote() -> None:
    fused = reciprocal_rank_fusion({"dense": ["a", "b"], "graph": ["b"]}, k=60, weights={"dense": 1.0, "graph": 2.0})
    scores = {h.memory_id: h.score for h in fused}
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["b"] == pytest.approx(1 / 62 + 2 / 61)
    assert [h.memory_id for h in fused] == ["b", "a"]
    assert fused[0].ranks == {"dense": 2, "graph": 1}


def test_recency_halves_every_half_life_and_caps_future_at_one() -> None:
    assert recency(NOW - timedelta(days=30), NOW, 30) == pytest.approx(0.5)
    assert recency(NOW - timedelta(days=60), NOW, 30) == pytest.approx(0.25)
    assert recency(NOW + timedelta(days=3), NOW, 30) == 1.0


def test_rank_combines_relevance_importance_and_recency() -> None:
    candidates = [
        Candidate("best-match", 0.030, importance=0.3, occurred_at=NOW - timedelta(days=300)),
        Candidate("near-tie-important", 0.029, importance=0.9, occurred_at=NOW - timedelta(days=1)),
        Candidate("weak", 0.010, importance=1.0, occurred_at=NOW),
    ]
    ranked = rank(candidates, NOW, importance_share=0.10, recency_share=0.05, half_life_days=30)
    # A near-tie is reordered by importance and recency; a clearly weaker match is not lifted above both.
    assert [r.memory_id for r in ranked] == ["near-tie-important", "best-match", "weak"]
    top = ranked[0]
    expected = 0.85 * (0.029 / 0.030) + 0.10 * 0.9 + 0.05 * recency(NOW - timedelta(days=1), NOW, 30)
    assert top.score == pytest.approx(expected)
    assert ranked[1].relevance == pytest.approx(1.0)


def test_rank_of_nothing_is_nothing() -> None:
    assert rank([], NOW, 0.1, 0.05, 30) == []


def test_recipes_are_named_immutable_and_complete() -> None:
    assert set(RECIPES) >= {"hybrid", "dense", "sparse", "graph", "temporal", "no_graph", "no_temporal"}
    assert set(recipe_named("hybrid").retrievers) == set(Retriever)
    assert Retriever.GRAPH not in recipe_named("no_graph").retrievers
    assert Retriever.TEMPORAL not in recipe_named("no_temporal").retrievers
    with pytest.raises(TypeError):
        RECIPES["hybrid"] = recipe_named("dense")  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe_named("hybrid").rrf_k = 1  # type: ignore[misc]
    with pytest.raises(UnknownRecipe, match="choose one of"):
        recipe_named("bm42")


def test_a_recipe_must_run_something_and_leave_room_for_relevance() -> None:
    with pytest.raises(ValueError, match="runs no retriever"):
        SearchRecipe("empty", ())
    with pytest.raises(ValueError, match="room for relevance"):
        SearchRecipe("all-importance", (Retriever.DENSE,), importance_share=0.7, recency_share=0.3)
