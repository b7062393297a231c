"""Final ranking: fused relevance first, then importance and recency as documented, bounded nudges.

final = (1 - i - r) · relevance + i · importance + r · recency, where
- relevance = the RRF score divided by the best RRF score of this result list (so 1.0 for the top hit);
- importance is the memory's importance in [0, 1] (memory.importance);
- recency = 0.5 ** (age / half-life), age measured from the query's reference time (future: 1.0).
Relevance keeps most of the weight: importance and recency reorder near-ties, they do not bury a
clearly better match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Candidate:
    memory_id: str
    fused_score: float
    importance: float
    occurred_at: datetime


@dataclass(frozen=True)
class Ranked:
    memory_id: str
    score: float
    relevance: float
    recency: float


def recency(occurred_at: datetime, reference: datetime, half_life_days: float) -> float:
    age_days = (reference - occurred_at).total_seconds() / SECONDS_PER_DAY
    if age_days <= 0:
        return 1.0
    return float(0.5 ** (age_days / half_life_days))


def rank(
    candidates: Sequence[Candidate],
    reference: datetime,
    importance_share: float,
    recency_share: float,
    half_life_days: float,
) -> list[Ranked]:
    if not candidates:
        return []
    best = max(c.fused_score for c in candidates)
    relevance_share = 1.0 - importance_share - recency_share
    ranked = []
    for c in candidates:
        relevance = c.fused_score / best if best > 0 else 0.0
        fresh = recency(c.occurred_at, reference, half_life_days)
        importance = min(max(c.importance, 0.0), 1.0)
        score = relevance_share * relevance + importance_share * importance + recency_share * fresh
        ranked.append(Ranked(c.memory_id, score, relevance, fresh))
    return sorted(ranked, key=lambda r: (-r.score, r.memory_id))
