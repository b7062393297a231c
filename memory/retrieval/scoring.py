"""From what the retrievers found and what the rows say, the final order of a search: one pure function.

The API gathers the inputs (retriever results, the visible rows, turn positions) and keeps the I/O; every
step that decides the order is here, in sequence, so it can be read and tested without a store:

1. only memories with a visible row count (a retriever may still see a half-projected or forgotten one);
2. Reciprocal Rank Fusion (memory.retrieval.fusion), dense and sparse votes scaled by how clearly they matched
   (memory.retrieval.ranking.match_strengths), the temporal vote halved when the asked time is vague;
3. priors from the memory itself: outside the time range the query names (softly for a vague one), how
   specific it is (memory.retrieval.specificity), whether the one person the query names said it
   (memory.retrieval.ranking.named_speaker);
4. support from what was said in the same turn and around it (memory.retrieval.ranking.with_conversation_support);
5. relevance, importance and recency (memory.retrieval.ranking.rank).
Wherever scores are equal, the memory said later comes first (memory.retrieval.said_order), never the one
with the smaller id: the same conversation, ingested twice, ranks the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from memory.language.time_expressions import TimeRange
from memory.retrieval.fusion import reciprocal_rank_fusion
from memory.retrieval.ranking import Candidate, TurnRef, match_strengths, named_speaker, rank, with_conversation_support
from memory.retrieval.recipes import Retriever, SearchRecipe
from memory.retrieval.said_order import SaidKey, said_key
from memory.retrieval.specificity import specificity

# A query that names a time ("last week", "before the move") asks about that time: matches from outside it
# keep half their fused score, so they rank below the matches from inside unless they are far better.
OUT_OF_RANGE = 0.5
# A vague time ("a few days ago", "recently", "a while ago") is only a guess at the time, already widened: it
# leans the order towards its range and never pushes a good match from outside it far down.
VAGUE_OUT_OF_RANGE = 0.8
# ... and the temporal retriever's vote for what lies inside a vague range counts half.
VAGUE_TEMPORAL_VOTE = 0.5
# Retrievers whose scores measure the match (a cosine, a BM25 score); graph and temporal only order.
GRADED = frozenset({Retriever.DENSE.value, Retriever.SPARSE.value})


@dataclass(frozen=True, slots=True)
class Found:
    """A retrieved memory and the retriever's own score for it (higher is better)."""

    memory_id: str
    score: float


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """What the ordering needs to know of a memory's stored row."""

    memory_id: str
    text: str
    importance: float
    valid_from: datetime  # when it became true: the time range and recency are measured on it
    speaker: str = ""  # who said it, "" when unknown
    conversation_id: str = ""
    source_turn_ids: tuple[str, ...] = ()
    log_offset: int | None = None  # of the MemoryExtracted that created it (memory.retrieval.said_order)

    @property
    def said(self) -> SaidKey:
        return said_key(self.valid_from, self.log_offset, self.memory_id)

    def turn_ref(self, positions: Mapping[tuple[str, str], int]) -> TurnRef:
        """Where it was said; the turn's position only for a memory of exactly one turn."""
        turns = self.source_turn_ids
        index = positions.get((self.conversation_id, turns[0])) if len(turns) == 1 else None
        return TurnRef(self.conversation_id, turns, index)


@dataclass(frozen=True)
class Scored:
    """A memory in the final order: its final score, its fused (RRF) score and each retriever's rank."""

    memory_id: str
    score: float
    fused_score: float
    ranks: dict[str, int] = field(default_factory=dict)


def asked_range(recipe: SearchRecipe, time_range: TimeRange | None) -> TimeRange | None:
    """The time range the query names counts only when the recipe reads time (runs the temporal retriever)."""
    return time_range if Retriever.TEMPORAL in recipe.retrievers else None


def in_range_factor(span: TimeRange | None, valid_from: datetime) -> float:
    """What lying outside the asked time range costs a memory: half its score, a fifth for a vague time."""
    if span is None or span.contains(valid_from):
        return 1.0
    return VAGUE_OUT_OF_RANGE if span.vague else OUT_OF_RANGE


def fusion_weights(recipe: SearchRecipe, span: TimeRange | None) -> dict[str, float]:
    """The recipe's retriever weights, the temporal vote softened when the asked time is vague."""
    weights = recipe.weight_map()
    if span is not None and span.vague and Retriever.TEMPORAL.value in weights:
        weights[Retriever.TEMPORAL.value] *= VAGUE_TEMPORAL_VOTE
    return weights


def prior(
    recipe: SearchRecipe, row: CandidateRow, span: TimeRange | None, speakers: frozenset[str], speaker: str | None
) -> float:
    """What the memory itself says about its chances, before the list is ranked: outside the asked time
    range, how specific it is, whether the person the query names said it."""
    factor = in_range_factor(span, row.valid_from)
    factor *= specificity(row.text, recipe.specificity_exponent, speakers)
    if speaker is not None and row.speaker == speaker:
        factor *= recipe.speaker_boost
    return factor


def final_order(
    found: Mapping[str, Sequence[Found]],
    rows: Mapping[str, CandidateRow],
    recipe: SearchRecipe,
    query: str,
    reference: datetime,
    span: TimeRange | None = None,
    positions: Mapping[tuple[str, str], int] | None = None,
) -> list[Scored]:
    """Every visible memory found, best first.

    ``found``: per retriever name, its matches best first; ``rows``: the visible rows (a match without one
    is dropped); ``span``: the time range that counts (``asked_range``); ``positions``: (conversation id,
    turn id) → the turn's position in its conversation, for neighbour support (empty: none)."""
    visible = {kind: [f for f in matches if f.memory_id in rows] for kind, matches in found.items()}
    said = {memory_id: row.said for memory_id, row in rows.items()}
    # Each retriever's equal scores, said later first. Sparse, graph and temporal already order them so in their
    # queries (this changes nothing there); Milvus returns two memories at one cosine in its segments' order.
    visible = {
        kind: sorted(matches, key=lambda f: (f.score, said[f.memory_id]), reverse=True)
        for kind, matches in visible.items()
    }
    orderings = {kind: [f.memory_id for f in matches] for kind, matches in visible.items()}
    strengths = {
        kind: match_strengths([(f.memory_id, f.score) for f in matches], recipe.match_strength_exponent)
        for kind, matches in visible.items()
        if kind in GRADED
    }
    fused = reciprocal_rank_fusion(
        orderings, k=recipe.rrf_k, weights=fusion_weights(recipe, span), strengths=strengths, said=said
    )
    speakers = frozenset(row.speaker for row in rows.values()) - {""}
    speaker = named_speaker(query, speakers)
    candidates = [
        Candidate(
            h.memory_id,
            h.score * prior(recipe, rows[h.memory_id], span, speakers, speaker),
            float(rows[h.memory_id].importance),
            rows[h.memory_id].valid_from,
            rows[h.memory_id].log_offset,
        )
        for h in fused
    ]
    refs = {h.memory_id: rows[h.memory_id].turn_ref(positions or {}) for h in fused}
    candidates = with_conversation_support(
        candidates, refs, recipe.sibling_share, recipe.neighbour_share, recipe.neighbour_window
    )
    ranked = rank(candidates, reference, recipe.importance_share, recipe.recency_share, recipe.recency_half_life_days)
    by_id = {h.memory_id: h for h in fused}
    return [Scored(r.memory_id, r.score, by_id[r.memory_id].score, by_id[r.memory_id].ranks) for r in ranked]
