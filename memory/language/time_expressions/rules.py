"""A reading rule: a pattern and how a match of it becomes a range, relative to the reference time."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from memory.language.time_expressions.calendar import MONTHS, TimeRange

Resolve = Callable[[re.Match[str], datetime], TimeRange | None]

MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
YEAR = r"(?:19|20)\d\d"
NAMES_A_MONTH = re.compile(rf"\b{MONTH}", re.I)


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    resolve: Resolve
    # "year": a date read without its year ("May 8th", "in May"); "week": a weekday ("on Friday"). As an end of a
    # span it may move by whole years (weeks) to lie after the span's start, or take the year the other end names.
    repeats: str | None = None
    # A cheap search the text must pass first: the month rules' day words are slow to try at every word.
    needs: re.Pattern[str] | None = None


def rule(
    name: str, pattern: str, resolve: Resolve, repeats: str | None = None, needs: re.Pattern[str] | None = None
) -> Rule:
    return Rule(name, re.compile(pattern, re.I), resolve, repeats, needs)


def month_number(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


@dataclass(frozen=True)
class Reading:
    rule: Rule
    match: re.Match[str]
    found: TimeRange


def first_reading(rules: Sequence[Rule], text: str, reference: datetime, at_start: bool = False) -> Reading | None:
    """The first rule (in order, not the leftmost phrase) that reads a time in the text, or at its start."""
    passed: dict[re.Pattern[str], bool] = {}
    for rule in rules:
        if rule.needs is not None:
            if rule.needs not in passed:
                passed[rule.needs] = rule.needs.search(text) is not None
            if not passed[rule.needs]:
                continue
        match = rule.pattern.match(text) if at_start else rule.pattern.search(text)
        if match is None:
            continue
        found = rule.resolve(match, reference)
        if found is not None:
            return Reading(rule, match, found)
    return None
