"""Importance at creation: how much a memory is worth keeping, from what it says (0..1).

Constants are additive bonuses on a base so each can be read and tuned alone:
a stated preference or plan matters more than small talk, first-person facts more than remarks about
the weather, named people/places and dates make a fact specific, emphasis signals the speaker cares.
"""

from __future__ import annotations

import re

BASE = 0.30
PREFERENCE_BONUS = 0.20  # "I love", "my favourite"
PLAN_OR_EVENT_BONUS = 0.10  # things that happened or will happen
PERSONAL_BONUS = 0.15  # first person: "I", "my"
NAMED_ENTITY_BONUS = 0.10  # at least one name besides the speaker
DATE_BONUS = 0.10  # a year, month or weekday
EMPHASIS_BONUS = 0.05  # "!", "really", "very", "never", "always"

_PERSONAL = re.compile(r"\b(I|my|me|I'm|I've|mine)\b")
_EMPHASIS = re.compile(r"!|\b(really|very|never|always|absolutely|so much)\b", re.I)


def initial_importance(text: str, kind: str, named_entities: int, dates: int) -> float:
    score = BASE
    if kind == "preference":
        score += PREFERENCE_BONUS
    elif kind in ("plan", "event"):
        score += PLAN_OR_EVENT_BONUS
    if _PERSONAL.search(text):
        score += PERSONAL_BONUS
    if named_entities > 0:
        score += NAMED_ENTITY_BONUS
    if dates > 0:
        score += DATE_BONUS
    if _EMPHASIS.search(text):
        score += EMPHASIS_BONUS
    return round(min(score, 1.0), 4)
