"""LoCoMo's ten conversations in two fixed halves: one to choose ranking priors and weights on, one to check them.

Conversations 0-4 of the data file (conv-26, conv-30, conv-41, conv-42, conv-43) are the tuning half;
conversations 5-9 (conv-44, conv-47, conv-48, conv-49, conv-50) are held out. Fixed by position, not drawn,
so every run and every branch reports the same halves. A prior earns its place only if it also helps on the
held-out half (issue 18, point 4).
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.locomo_data import EvidenceSet, QuestionKey

TUNING = "tuning"
HELD_OUT = "held-out"
WHOLE = "whole"
HALVES: Mapping[str, range] = {TUNING: range(0, 5), HELD_OUT: range(5, 10)}


def half_of(conversation_index: int) -> str:
    for name, indices in HALVES.items():
        if conversation_index in indices:
            return name
    raise ValueError(f"conversation {conversation_index} is in neither half (LoCoMo has ten)")


def in_half(key: QuestionKey, half: str) -> bool:
    """``whole`` holds every question; a half, the questions of its conversations."""
    return half == WHOLE or key[0] in HALVES[half]


def restrict(evidence: EvidenceSet, half: str) -> EvidenceSet:
    """The evidence of the half's questions only (the drop report stays the whole set's)."""
    return EvidenceSet({k: v for k, v in evidence.evidence.items() if in_half(k, half)}, evidence.report)
