"""The whole reading of a query's time: the range, an anchor event, the sessions, recency and "when".

Rules are tried most specific first and the first that reads a time wins (not the leftmost phrase): a span
before its ends, a full date before a month, relative phrases before bare months and years, vague phrases
last, so that "what did I buy recently in May" is about May. Every range is cut to the window of
``memory.language.time_window``, so any count at any reference time is a range, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from memory.language.time_expressions import dates, relative
from memory.language.time_expressions.calendar import MONTHS, WEEKDAYS, TimeRange
from memory.language.time_expressions.rules import Rule, first_reading
from memory.language.time_expressions.sessions import SessionRef, find_session
from memory.language.time_expressions.spans import find_span
from memory.language.time_window import cut_to_window, within_window

RULES: tuple[Rule, ...] = (*dates.EXPLICIT, *relative.RELATIVE, *dates.LOOSE, *relative.VAGUE)
# The ends of a span: every single time, and the bare months and weekdays only a span makes times.
SPAN_ENDS: tuple[Rule, ...] = (*dates.EXPLICIT, *relative.RELATIVE, *dates.SPAN_ENDS, *relative.SPAN_ENDS, *dates.LOOSE)

# Words that only express time: the temporal retriever drops them before matching the rest of the query.
TIME_WORDS = frozenset(
    {
        "when",
        "last",
        "this",
        "next",
        "ago",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "day",
        "days",
        "yesterday",
        "today",
        "tomorrow",
        "recently",
        "lately",
        "latest",
        "recent",
        "before",
        "after",
        "since",
        "during",
        "past",
        "weekend",
        "morning",
        "evening",
        "night",
        "date",
        "time",
        *MONTHS,
        *WEEKDAYS,
    }
)

# A memory whose text says when something happened (for "when" questions). POSIX-style so that
# PostgreSQL (``~*``) and Python agree on it.
TIME_CUE_PATTERN = (
    r"(yesterday|today|tonight|tomorrow|last (week|weekend|month|year|night|time|summer|winter|spring|fall)"
    r"|next (week|weekend|month|year)|this (week|weekend|month|year|morning)|ago|recently|since"
    r"|(19|20)[0-9][0-9]|january|february|march|april|june|july|august|september|october|november|december"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|birthday|anniversary)"
)
_ASKS_WHEN = re.compile(
    r"\b(when|what (date|day|time|year|month)|which (date|day|year|month)|how long ago|how long has|since when)\b",
    re.I,
)
_RECENCY = re.compile(r"\b(recent(ly)?|lately|latest|most recent|newest|last time|these days|nowadays)\b", re.I)
_BOUND = re.compile(r"\b(?P<dir>before|after|since|until|prior to)\s*$", re.I)
_ANCHOR = re.compile(
    r"\b(?P<dir>before|after|since|prior to)\s+(?:the|my|our|his|her|their|we|i|he|she|they)\s+"
    r"(?P<anchor>[a-z][\w' \-]{1,40}?)"
    r"(?=[?.!,;]|$|\s+(?:and|or|but|with|when|where|what|did|do|was|were|is)\b)",
    re.I,
)


@dataclass(frozen=True)
class TemporalIntent:
    range: TimeRange | None = None
    anchor: str | None = None  # "before the move": the phrase whose time bounds the range
    anchor_direction: str | None = None  # "before" | "after"
    wants_recent: bool = False
    asks_when: bool = False
    # "our first session", "3 sessions ago": which sessions, for the caller to resolve against stored sessions.
    session: SessionRef | None = None

    @property
    def ranking_range(self) -> TimeRange | None:
        """The range search narrows and leans on. A recency wish ("recently", "lately") is served by the
        newest-first vote alone, so its vague range does not also discount older memories: one lean, not two."""
        if self.range is not None and self.range.vague and self.wants_recent:
            return None
        return self.range

    @property
    def is_temporal(self) -> bool:
        return (
            self.range is not None
            or self.anchor is not None
            or self.wants_recent
            or self.asks_when
            or self.session is not None
        )


def _open_ended(found: TimeRange, query: str, match: re.Match[str]) -> TimeRange:
    """ "before May 2023" / "since 2022": the range opens on one side of the expression."""
    # The bound word may precede the match or be its first word ("in|since|before <month>" patterns).
    leading = re.match(r"\s*(before|after|since|until)\b", match.group(0), re.I)
    bound = _BOUND.search(query[: match.start()] + (" " + leading.group(1) if leading else ""))
    if bound is None:
        return found
    direction = bound.group("dir").lower()
    expression = f"{direction} {found.expression}"
    if direction in ("before", "until", "prior to"):
        return TimeRange(None, found.start, expression, found.vague)
    return TimeRange(found.start if direction == "since" else found.end, None, expression, found.vague)


def _single(query: str, reference: datetime) -> TimeRange | None:
    reading = first_reading(RULES, query, reference)
    return None if reading is None else _open_ended(reading.found, query, reading.match)


def find_time_range(query: str, reference: datetime) -> TimeRange | None:
    """The query's time (a span, else its most specific single time) as a range cut to the window, or None."""
    reference = within_window(reference)
    found = find_span(query, reference, SPAN_ENDS) or _single(query, reference)
    if found is None:
        return None
    return TimeRange(*cut_to_window(found.start, found.end), found.expression, found.vague)


def read_temporal_intent(query: str, reference: datetime) -> TemporalIntent:
    found = find_time_range(query, reference)
    anchor = direction = None
    if found is None:
        match = _ANCHOR.search(query)
        if match is not None:
            anchor, direction = match.group("anchor").strip(), match.group("dir").lower()
            direction = "after" if direction == "since" else "before" if direction == "prior to" else direction
    return TemporalIntent(
        range=found,
        anchor=anchor,
        anchor_direction=direction,
        wants_recent=bool(_RECENCY.search(query)),
        asks_when=bool(_ASKS_WHEN.search(query)),
        session=find_session(query),
    )


def range_around_anchor(anchor_time: datetime, direction: str, expression: str) -> TimeRange:
    """ "before the move" once the move is located in time."""
    if direction == "before":
        return TimeRange(None, anchor_time, expression)
    return TimeRange(anchor_time, None, expression)


def without_time_words(words: list[str]) -> list[str]:
    """The query's words without the ones that only express time (what the memory must be about)."""
    return [w for w in words if w.lower() not in TIME_WORDS]
