"""Reciprocal Rank Fusion (Cormack et al., 2009): score(d) = Σ_r w_r / (k + rank_r(d)), ranks from 1.

Pure over ranked id lists, so every retriever's contribution is visible and testable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from memory.retrieval.said_order import SaidKey

DEFAULT_K = 60


@dataclass
class FusedHit:
    memory_id: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # retriever name → 1-based rank


def reciprocal_rank_fusion(
    ranked: Mapping[str, Sequence[str]],
    k: int = DEFAULT_K,
    weights: Mapping[str, float] | None = None,
    strengths: Mapping[str, Mapping[str, float]] | None = None,
    said: Mapping[str, SaidKey] | None = None,
) -> list[FusedHit]:
    """``strengths`` (retriever → memory → factor in (0, 1]) scale a vote by how strong the match was; a
    missing factor is 1 (plain RRF). ``said`` (memory → ``said_order.said_key``) orders equal scores, the
    memory said later first; without it, ties fall back to the id."""
    if k < 0:
        raise ValueError("k must be non-negative")
    hits: dict[str, FusedHit] = {}
    for retriever, ids in ranked.items():
        weight = 1.0 if weights is None else weights.get(retriever, 1.0)
        strength = {} if strengths is None else strengths.get(retriever, {})
        seen: set[str] = set()
        for rank, memory_id in enumerate(ids, start=1):
            if memory_id in seen:
                continue  # a retriever votes once per memory, at its best rank
            seen.add(memory_id)
            hit = hits.setdefault(memory_id, FusedHit(memory_id, 0.0))
            hit.score += weight * strength.get(memory_id, 1.0) / (k + rank)
            hit.ranks[retriever] = rank
    if said is None:
        return sorted(hits.values(), key=lambda h: (-h.score, h.memory_id))
    # Every fused memory has a row by now (scoring.final_order fuses only visible ones), so each has its key.
    return sorted(hits.values(), key=lambda h: (h.score, said[h.memory_id]), reverse=True)
