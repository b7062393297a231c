"""Neighbour support found by bisection scores exactly as the pairwise definition did (issue 18, point 7).

``memory.retrieval.ranking.with_conversation_support`` used to compare every pair of candidate turns of a
conversation; it now bisects each conversation's positions. Scores must be the same floats, not merely close:
rankings break ties on them. The pairwise definition is kept here as the reference, over seeded random candidate
sets shaped like real searches (several conversations, turns with several memories, turns without a position).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from statistics import median

import pytest

from memory.retrieval.ranking import Candidate, TurnRef, with_conversation_support

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def pairwise(
    candidates: list[Candidate], refs: dict[str, TurnRef], sibling_share: float, neighbour_share: float, window: int
) -> list[Candidate]:
    """The definition as it was written before: every pair of turns of a conversation compared."""
    by_turn: dict[tuple[str, str], list[Candidate]] = {}
    for c in candidates:
        ref = refs.get(c.memory_id)
        for turn_id in dict.fromkeys(ref.turn_ids if ref else ()):
            by_turn.setdefault((ref.conversation if ref else "", turn_id), []).append(c)
    turn_score: dict[tuple[str, str], float] = {}
    leader: dict[tuple[str, str], Candidate] = {}
    position: dict[tuple[str, str], tuple[str, int]] = {}
    for turn, members in by_turn.items():
        best = max(members, key=lambda c: (c.fused_score, c.said))
        leader[turn] = best
        turn_score[turn] = best.fused_score + sibling_share * (sum(c.fused_score for c in members) - best.fused_score)
        ref = refs[best.memory_id]
        if ref.index is not None and len(ref.turn_ids) == 1:
            position[turn] = (ref.conversation, ref.index)
    by_conversation: dict[str, list[tuple[int, tuple[str, str]]]] = {}
    for turn, (conversation, index) in position.items():
        by_conversation.setdefault(conversation, []).append((index, turn))
    typical = median(turn_score.values()) if turn_score else 0.0
    gain: dict[str, float] = {}
    for turn, best in leader.items():
        total = turn_score[turn] - best.fused_score
        if neighbour_share > 0 and turn in position:
            conversation, index = position[turn]
            near = sum(
                max(turn_score[other] - typical, 0.0)
                for other_index, other in by_conversation[conversation]
                if other != turn and abs(other_index - index) <= window
            )
            total += neighbour_share * near
        if total:
            gain[best.memory_id] = gain.get(best.memory_id, 0.0) + total
    return [replace(c, fused_score=c.fused_score + gain.get(c.memory_id, 0.0)) for c in candidates]


def search_like(rng: random.Random) -> tuple[list[Candidate], dict[str, TurnRef]]:
    candidates, refs = [], {}
    for n in range(rng.randrange(20, 250)):
        conversation = f"c{rng.randrange(3)}"
        turn = rng.randrange(120)
        memory_id = f"m{n}"
        candidates.append(Candidate(memory_id, rng.random() / 30, 0.5, T0 + timedelta(minutes=turn), n))
        if rng.random() < 0.1:  # a summary or a memory written directly: no turn
            refs[memory_id] = TurnRef(conversation, ())
        elif rng.random() < 0.05:  # several source turns: no position
            refs[memory_id] = TurnRef(conversation, (f"t{turn}", f"t{turn + 1}"))
        else:
            refs[memory_id] = TurnRef(conversation, (f"t{turn}",), turn if rng.random() < 0.9 else None)
    return candidates, refs


@pytest.mark.parametrize("seed", range(40))
def test_bisected_neighbours_score_the_same_floats_as_every_pair(seed: int) -> None:
    rng = random.Random(seed)
    candidates, refs = search_like(rng)
    for window in (1, 2, 5):
        got = with_conversation_support(candidates, refs, 0.25, 0.3, window)
        assert got == pairwise(candidates, refs, 0.25, 0.3, window)


def test_the_random_searches_exercise_the_support() -> None:
    """The comparison above means something only if support moves scores in those searches."""
    moved = 0
    for seed in range(40):
        candidates, refs = search_like(random.Random(seed))
        supported = with_conversation_support(candidates, refs, 0.25, 0.3, 2)
        moved += any(s.fused_score != c.fused_score for s, c in zip(supported, candidates, strict=True))
    assert moved >= 35
