"""Search recipes: which retrievers run, how their rankings are fused, how the fused list is re-ranked.

Declarative and immutable (frozen dataclasses in a read-only mapping): a request names a recipe, it never
edits one, so one caller's tuning can never leak into another's search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from memory.retrieval.fusion import DEFAULT_K


class Retriever(StrEnum):
    DENSE = "dense"  # query embedding → Milvus, nearest vectors in the user's scope
    SPARSE = "sparse"  # keywords → PostgreSQL full text (ts_rank_cd), exact names and rare words
    GRAPH = "graph"  # entities named in the query → Neo4j → memories mentioning them and their neighbours
    TEMPORAL = "temporal"  # time expressions → a valid-time range, recency, memories that say when


class UnknownRecipe(ValueError):
    pass


@dataclass(frozen=True)
class Weights:
    """Per-retriever RRF weights; a missing retriever weighs 1."""

    dense: float = 1.0
    sparse: float = 1.0
    graph: float = 1.0
    temporal: float = 1.0

    def of(self, retriever: Retriever) -> float:
        value: float = getattr(self, retriever.value)
        return value


@dataclass(frozen=True)
class SearchRecipe:
    name: str
    retrievers: tuple[Retriever, ...]
    weights: Weights = field(default_factory=Weights)
    rrf_k: int = DEFAULT_K
    # Re-ranking after fusion (see memory.retrieval.ranking): shares of the final score given to importance and
    # recency; the rest is the normalised fused relevance.
    importance_share: float = 0.05
    recency_share: float = 0.02
    recency_half_life_days: float = 30.0
    # Priors on the fused score before that ranking (memory.retrieval.scoring.prior, memory.retrieval.ranking): how much
    # a memory says (memory.retrieval.specificity; 0 = off), a boost for what the one person the query names said, and
    # the support of the memories said in the same turn and in the turns around it (0 = off).
    specificity_exponent: float = 0.7
    # Dense and sparse votes scaled by (score / the retriever's best score) ** this (0 = plain RRF).
    match_strength_exponent: float = 1.0
    speaker_boost: float = 1.3
    sibling_share: float = 0.25
    neighbour_share: float = 0.3
    neighbour_window: int = 2
    candidates_per_retriever: int = 50
    # A named time scopes the answer (memory.retrieval.time_scope): a question about a time alone answers from its
    # window, a time and a topic leans towards the window's topic matches (window_boost). Off: the time is only the
    # temporal vote and the out-of-range prior (the recipe "hybrid_unscoped", kept to measure what scoping does).
    time_scoping: bool = True
    # What a topic match inside the named window gets on its final score (time_scope.window_lean), on top of the
    # out-of-range prior (scoring.OUT_OF_RANGE, half the fused score): together, a match said outside the window
    # needs about 2.5 times the fused score of one inside to rank above it. Why not more: LoCoMo's "time and
    # topic" questions often name the event's time while the evidence was said later, and its recall fell with
    # every larger boost tried on the tuning half (conversations 0-4; 1.25, 1.5, 2, 3, 100: R@10 78.5, 78.5, 78.3,
    # 78.2, 78.0, unscoped 78.5); 1.25 lost the least there (R@10 and R@25 as unscoped, R@5 -0.3; bench/RESULTS.md).
    window_boost: float = 1.25

    def __post_init__(self) -> None:
        if not self.retrievers:
            raise ValueError(f"recipe {self.name!r} runs no retriever")
        if self.importance_share + self.recency_share >= 1.0:
            raise ValueError("importance and recency shares must leave room for relevance")

    def weight_map(self) -> dict[str, float]:
        return {r.value: self.weights.of(r) for r in self.retrievers}


R = Retriever
ALL = (R.DENSE, R.SPARSE, R.GRAPH, R.TEMPORAL)
DEFAULT_RECIPE = "hybrid"

RECIPES: Mapping[str, SearchRecipe] = MappingProxyType(
    {
        recipe.name: recipe
        for recipe in (
            SearchRecipe("hybrid", ALL),
            SearchRecipe("hybrid_unscoped", ALL, time_scoping=False),
            SearchRecipe("dense", (R.DENSE,)),
            SearchRecipe("sparse", (R.SPARSE,)),
            SearchRecipe("graph", (R.GRAPH,)),
            SearchRecipe("temporal", (R.TEMPORAL,)),
            SearchRecipe("no_graph", (R.DENSE, R.SPARSE, R.TEMPORAL)),
            SearchRecipe("no_temporal", (R.DENSE, R.SPARSE, R.GRAPH)),
            SearchRecipe("dense_sparse", (R.DENSE, R.SPARSE)),
        )
    }
)


def recipe_named(name: str) -> SearchRecipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise UnknownRecipe(f"unknown recipe {name!r}; choose one of {sorted(RECIPES)}") from None
