"""Spans with two ends: "between May 8th and June 9th", "from Monday to Wednesday", "from 2020 through 2022".

Each end is read like a time on its own (any rule of the reader, plus a bare month or weekday, which only a
span makes a time), and the span runs from the start of the first to the end of the second. Ends that name
no year settle against each other: an end without a year takes the year the other names ("between May 8 and
June 9, 2023"), and an end that repeats (a year-less date, a weekday) is its first occurrence on or after
the span's start, so "between May 8th and June 9th" asked on June 1st runs from this May 8th.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.language.time_expressions.calendar import TimeRange
from memory.language.time_expressions.rules import Rule, first_reading

_OPENING = re.compile(r"\b(?P<word>between|from)\s+(?:the\s+|on\s+)?", re.I)
_JOINS = {
    "between": re.compile(r"\s*,?\s*and\s+(?:the\s+|on\s+)?", re.I),
    "from": re.compile(r"\s*,?\s*(?:to|through|thru|till|until|up\s+to|-|\u2013)\s+(?:the\s+|on\s+)?", re.I),
}


@dataclass(frozen=True)
class _End:
    found: TimeRange
    rule: Rule
    length: int  # characters of the text it was read from


def _end_at_start(text: str, reference: datetime, rules: Sequence[Rule]) -> _End | None:
    """The time the text starts with, by the first rule that reads one there."""
    reading = first_reading(rules, text, reference, at_start=True)
    return None if reading is None else _End(reading.found, reading.rule, reading.match.end())


def _moved(found: TimeRange, years: int = 0, days: int = 0) -> TimeRange | None:
    """The same range some whole years or days later (None where a year lacks the day: February 29th)."""

    def move(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        return moment.replace(year=moment.year + years) + timedelta(days=days)

    try:
        return TimeRange(move(found.start), move(found.end), found.expression, found.vague)
    except ValueError:
        return None


def _first_after(end: _End, start: datetime) -> TimeRange | None:
    """A repeating end moved to its first occurrence starting on or after ``start``."""
    found = end.found
    if found.start is None:
        return found
    if end.rule.repeats == "week":
        weeks = (start - found.start).days // 7
        moved = _moved(found, days=7 * weeks)
        if moved is not None and moved.start is not None and moved.start < start:
            moved = _moved(moved, days=7)
        return moved
    moved = _moved(found, years=start.year - found.start.year)
    if moved is not None and moved.start is not None and moved.start < start:
        moved = _moved(found, years=start.year - found.start.year + 1)
    return moved


def _settled(first: _End, second: _End) -> tuple[TimeRange, TimeRange] | None:
    start, end = first.found, second.found
    if first.rule.repeats == "year" and second.rule.repeats is None and start.start and end.start:
        # "between May 8 and June 9, 2023": the first end takes the year the second names, or the one before.
        moved = _moved(start, years=end.start.year - start.start.year)
        if moved is not None and moved.start is not None and moved.start > end.start:
            moved = _moved(start, years=end.start.year - start.start.year - 1)
        if moved is None:
            return None
        start = moved
    if second.rule.repeats is not None and start.start is not None:
        settled = _first_after(second, start.start)
        if settled is None:
            return None
        end = settled
    return start, end


def find_span(query: str, reference: datetime, rules: Sequence[Rule]) -> TimeRange | None:
    """The first "between X and Y" / "from X to Y" in the query whose two ends are both times, or None."""
    for opening in _OPENING.finditer(query):
        rest = query[opening.end() :]
        first = _end_at_start(rest, reference, rules)
        if first is None:
            continue
        join = _JOINS[opening.group("word").lower()].match(rest, first.length)
        if join is None:
            continue
        second = _end_at_start(rest[join.end() :], reference, rules)
        if second is None:
            continue
        settled = _settled(first, second)
        if settled is None:
            continue
        start, end = settled
        if start.start is not None and end.end is not None and end.end <= start.start:
            continue  # an end before the start: not a span we can read
        expression = query[opening.start() : opening.end() + join.end() + second.length].strip()
        return TimeRange(start.start, end.end, expression, vague=start.vague or end.vague)
    return None
