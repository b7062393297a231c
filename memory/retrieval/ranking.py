"""Final ranking: fused relevance first, then importance and recency as documented, bounded nudges.

final = (1 - i - r) · relevance + i · importance + r · recency, where
- relevance = the RRF score divided by the best RRF score of this result list (so 1.0 for the top hit);
- importance is the memory's importance in [0, 1] (memory.ingest.importance);
- recency = 0.5 ** (age / half-life), age measured from the query's reference time (future: 1.0).
Relevance keeps most of the weight: importance and recency reorder near-ties, they do not bury a
clearly better match.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from statistics import median

from memory.retrieval.said_order import SaidKey, said_key

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Candidate:
    memory_id: str
    fused_score: float
    importance: float
    occurred_at: datetime
    log_offset: int | None = None  # where its MemoryExtracted sits in the log (memory.retrieval.said_order)

    @property
    def said(self) -> SaidKey:
        return said_key(self.occurred_at, self.log_offset, self.memory_id)


@dataclass(frozen=True)
class Ranked:
    memory_id: str
    score: float
    relevance: float
    recency: float


def match_strengths(scored: Sequence[tuple[str, float]], exponent: float) -> dict[str, float]:
    """Each match's score relative to the retriever's best, to ``exponent``: how clearly it matched.

    Rank fusion alone makes rank 1 and rank 4 nearly equal (1/61 vs 1/64), which is right when a thousand
    memories compete and the scores are close, and wrong in a small store where the best match (cosine 0.6)
    stands far above the rest (0.3): priors on the memories would then reorder a clear answer. Scaling each
    vote by score / best keeps the top of a close race as it was and keeps a clear winner ahead."""
    if exponent <= 0 or not scored:
        return {}
    best = max(score for _, score in scored)
    if best <= 0:
        return {}
    return {memory_id: max(score / best, 0.0) ** exponent for memory_id, score in scored}


def named_speaker(query: str, speakers: Iterable[str]) -> str | None:
    """The one speaker among the candidates' that the query names as a word ("What did Caroline paint?"),
    or None when it names none or several (a question about two people favours neither)."""
    named = {s for s in speakers if s and re.search(rf"\b{re.escape(s)}\b", query, re.IGNORECASE)}
    return named.pop() if len(named) == 1 else None


@dataclass(frozen=True)
class TurnRef:
    """Where a candidate was said: its conversation, source turn ids and the turn's position (when known)."""

    conversation: str
    turn_ids: tuple[str, ...]
    index: int | None = None


def with_conversation_support(
    candidates: Sequence[Candidate],
    refs: Mapping[str, TurnRef],
    sibling_share: float,
    neighbour_share: float,
    window: int,
) -> list[Candidate]:
    """Let what was said around a memory vouch for it. Per source turn:

    - siblings: the turn scores its best candidate plus ``sibling_share`` of its other candidates (several
      memories of one turn matching the query: more of what was said there is about it);
    - neighbours: a turn gains ``neighbour_share`` of what the turns at most ``window`` positions away in the
      same conversation score above the median turn (the answer sits where the conversation was about the
      query, often right after the question that names the topic). Above the median: in a small store every
      memory is a candidate, and being one says nothing; only a neighbour that stands out vouches.
    The turn's best candidate takes the gain; its siblings keep their own score, so one turn's memories do not
    crowd the top of the list. Candidates without a known turn (summaries, memories written directly) keep
    their score unless siblings of theirs are candidates too.
    """
    if sibling_share <= 0 and neighbour_share <= 0:
        return list(candidates)
    by_turn: dict[tuple[str, str], list[Candidate]] = {}
    for c in candidates:
        ref = refs.get(c.memory_id)
        for turn_id in dict.fromkeys(ref.turn_ids if ref else ()):
            by_turn.setdefault((ref.conversation if ref else "", turn_id), []).append(c)
    turn_score: dict[tuple[str, str], float] = {}
    leader: dict[tuple[str, str], Candidate] = {}
    position: dict[tuple[str, str], tuple[str, int]] = {}
    for turn, members in by_turn.items():
        best = max(members, key=lambda c: (c.fused_score, c.said))  # of equal ones, the one said later
        leader[turn] = best
        turn_score[turn] = best.fused_score + sibling_share * (sum(c.fused_score for c in members) - best.fused_score)
        ref = refs[best.memory_id]
        if ref.index is not None and len(ref.turn_ids) == 1:
            position[turn] = (ref.conversation, ref.index)
    nearby = _Neighbourhoods(position)
    typical = median(turn_score.values()) if turn_score else 0.0
    gain: dict[str, float] = {}
    for turn, best in leader.items():
        total = turn_score[turn] - best.fused_score
        if neighbour_share > 0 and turn in position:
            near = sum(max(turn_score[other] - typical, 0.0) for other in nearby.around(turn, window))
            total += neighbour_share * near
        if total:
            gain[best.memory_id] = gain.get(best.memory_id, 0.0) + total
    return [replace(c, fused_score=c.fused_score + gain.get(c.memory_id, 0.0)) for c in candidates]


class _Neighbourhoods:
    """The turns at most ``window`` positions from a turn, in the conversation's candidate turns. Found by bisection
    over each conversation's positions (comparing every pair of ~150 turns was a millisecond of every search), and
    given in ``position``'s order, so that their scores are summed in the same order, to the same float, as always."""

    def __init__(self, position: Mapping[tuple[str, str], tuple[str, int]]):
        self._position = position
        self._order = {turn: n for n, turn in enumerate(position)}
        placed: dict[str, list[tuple[int, tuple[str, str]]]] = {}
        for turn, (conversation, index) in position.items():
            placed.setdefault(conversation, []).append((index, turn))
        self._turns = {conversation: sorted(turns) for conversation, turns in placed.items()}
        self._indices = {conversation: [index for index, _ in turns] for conversation, turns in self._turns.items()}

    def around(self, turn: tuple[str, str], window: int) -> list[tuple[str, str]]:
        conversation, index = self._position[turn]
        indices = self._indices[conversation]
        lo, hi = bisect_left(indices, index - window), bisect_right(indices, index + window)
        near = [other for _, other in self._turns[conversation][lo:hi] if other != turn]
        return sorted(near, key=self._order.__getitem__)


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
    ranked: list[tuple[Ranked, SaidKey]] = []
    for c in candidates:
        relevance = c.fused_score / best if best > 0 else 0.0
        fresh = recency(c.occurred_at, reference, half_life_days)
        importance = min(max(c.importance, 0.0), 1.0)
        score = relevance_share * relevance + importance_share * importance + recency_share * fresh
        ranked.append((Ranked(c.memory_id, score, relevance, fresh), c.said))
    ranked.sort(key=lambda pair: (pair[0].score, pair[1]), reverse=True)  # equal scores: said later first
    return [r for r, _ in ranked]
