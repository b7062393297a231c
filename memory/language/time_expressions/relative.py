"""Times named from now: "yesterday", "this morning", "three weeks ago", "over the last 3 days", "last Friday",
and the vague ones ("a few days ago", "recently", "a while ago").

Counts are digits or words ("twenty-one days ago"); any count gives a range, capped where it would leave the
window anyway (``memory.language.time_window``). A vague phrase gets a deliberately wide range flagged
``vague``: the ranking only leans towards it (memory.retrieval.scoring), so an answer a little outside the
guess is not cut out. "a few days ago", asked on May 6, reaches back to April 26.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from memory.language.time_expressions.calendar import (
    WEEKDAYS,
    TimeRange,
    ago_range,
    day_range,
    day_start,
    latest_weekday,
    unit_range,
    units_back,
)
from memory.language.time_expressions.numbers import COUNT, cardinal
from memory.language.time_expressions.rules import Resolve, Rule, rule
from memory.language.time_window import capped_count

_UNIT = r"(?P<unit>day|week|month|year)s?"
_WEEKDAYS = "|".join(WEEKDAYS)
_WEEKDAY = rf"(?P<weekday>{_WEEKDAYS})"
_DAYS_IN = {"day": 1, "week": 7, "month": 30, "year": 365}
# Vague counts as the units back they may mean; "ago" widens them by one unit each side, like exact counts.
_VAGUE_COUNTS = {"few": (2, 9), "several": (3, 9)}
_VAGUE_COUNT = r"(?:a\s+)?(?P<vague>few|several)"
# Hours of each part of a day, in the reference's time zone ("night" runs into the next morning).
_PARTS = {"morning": (0, 12), "afternoon": (12, 18), "evening": (17, 24), "night": (18, 30)}
# "recently", "lately": the last month; "a while ago", "some time ago": a week to a year back.
RECENT_DAYS = 30
A_WHILE_DAYS = (7, 365)


def _count(match: re.Match[str], unit: str) -> int:
    count = cardinal(match.group("count"))
    return capped_count(1 if count is None else count, unit)


def _part_of_day(match: re.Match[str], reference: datetime) -> TimeRange:
    text = match.group(0).strip()
    words = text.lower().split()
    day = {"yesterday": -1, "last": -1, "tomorrow": 1}.get(words[0], 0)
    part = "night" if words[-1] == "tonight" else words[-1]
    first, last = _PARTS[part]
    start = day_start(reference) + timedelta(days=day)
    return TimeRange(start + timedelta(hours=first), start + timedelta(hours=last), text)


def _earlier_today(match: re.Match[str], reference: datetime) -> TimeRange:
    # Up to and including the reference itself.
    return TimeRange(day_start(reference), reference + timedelta(seconds=1), match.group(0).strip())


def _day(offset: int) -> Resolve:
    def resolve(match: re.Match[str], reference: datetime) -> TimeRange:
        return unit_range(reference, "day", offset, match.group(0).strip())

    return resolve


def _the_other_day(match: re.Match[str], reference: datetime) -> TimeRange:
    return _vague(units_back(reference, "day", 1, 7, match.group(0).strip()))


def _vague(found: TimeRange) -> TimeRange:
    return TimeRange(found.start, found.end, found.expression, vague=True)


def _vague_ago(match: re.Match[str], reference: datetime) -> TimeRange:
    unit = match.group("unit").lower()
    nearest, farthest = _VAGUE_COUNTS[match.group("vague").lower()]
    return _vague(units_back(reference, unit, nearest - 1, farthest + 1, match.group(0).strip()))


def _past(match: re.Match[str], reference: datetime) -> TimeRange:
    """ "over the last 3 days", "in the past week": back from the reference, not whole calendar units."""
    unit = match.group("unit").lower()
    vague, counted = match.groupdict().get("vague"), match.groupdict().get("count")
    count = _VAGUE_COUNTS[vague.lower()][1] if vague else _count(match, unit) if counted else 1
    days = _DAYS_IN[unit] * capped_count(count, unit)
    found = TimeRange(reference - timedelta(days=days), reference + timedelta(seconds=1), match.group(0).strip())
    return _vague(found) if vague else found


def _ago(match: re.Match[str], reference: datetime) -> TimeRange:
    unit = match.group("unit").lower()
    return ago_range(reference, _count(match, unit), unit, match.group(0).strip())


def _before_last(match: re.Match[str], reference: datetime) -> TimeRange:
    return unit_range(reference, match.group("unit").lower(), -2, match.group(0).strip())


def _relative_unit(match: re.Match[str], reference: datetime) -> TimeRange:
    offset = {"last": -1, "previous": -1, "this": 0, "next": 1}[match.group("which").lower()]
    return unit_range(reference, match.group("unit").lower(), offset, match.group(0).strip())


def _over_the_weekend(match: re.Match[str], reference: datetime) -> TimeRange:
    # The weekend just past, or this one while it lasts.
    return unit_range(reference, "weekend", 0 if reference.weekday() >= 5 else -1, match.group(0).strip())


def _weekday(match: re.Match[str], reference: datetime) -> TimeRange:
    """ "on/this/past Friday": the latest Friday, today included; "last Friday": not today; "next": ahead."""
    wanted = WEEKDAYS[match.group("weekday").lower()]
    which = re.sub(r"\s+", " ", (match.group("which") or "").lower())
    latest = latest_weekday(reference, wanted)
    if which == "next":
        latest += timedelta(days=7)
    elif which == "last" and latest == day_start(reference):
        latest -= timedelta(days=7)
    if match.group("before_last"):
        latest -= timedelta(days=7 if latest < day_start(reference) else 14)
    return day_range(latest, match.group(0).strip())


def _recently(match: re.Match[str], reference: datetime) -> TimeRange:
    start = day_start(reference) - timedelta(days=RECENT_DAYS)
    return TimeRange(start, reference + timedelta(seconds=1), match.group(0).strip(), vague=True)


def _a_while_ago(match: re.Match[str], reference: datetime) -> TimeRange:
    nearest, farthest = A_WHILE_DAYS
    return _vague(units_back(reference, "day", nearest, farthest, match.group(0).strip()))


_COUNTED = rf"(?P<count>{COUNT})"
# The counts are slow to try at every word: the "ago" rule is tried only on a text that says "ago" or "back".
_SAYS_AGO = re.compile(r"\b(?:ago|back)\b", re.I)
RELATIVE: tuple[Rule, ...] = (
    rule("day_before_yesterday", r"\bthe day before yesterday\b", _day(-2)),
    rule("earlier_today", r"\b(?:earlier|so far) today\b|\btoday so far\b", _earlier_today),
    rule(
        "part_of_day",
        r"\b(?:(?:yesterday|today|this|tomorrow)\s+(?:morning|afternoon|evening|night)|last\s+night|tonight)\b",
        _part_of_day,
    ),
    rule("yesterday", r"\byesterday\b", _day(-1)),
    rule("today", r"\btoday\b", _day(0)),
    rule("tomorrow", r"\btomorrow\b", _day(1)),
    rule("the_other_day", r"\bthe other day\b", _the_other_day),
    rule("vague_ago", rf"\b{_VAGUE_COUNT}\s+{_UNIT}\s+(?:ago|back|earlier)\b", _vague_ago),
    rule(
        "past_n",
        rf"\b(?:(?:in|over|during|within|for)\s+)?(?:the\s+)?(?:last|past|previous)\s+"
        rf"(?:{_VAGUE_COUNT}|{_COUNTED})\s+{_UNIT}\b",
        _past,
    ),
    rule(
        "past_unit",
        rf"\b(?:(?:in|over|during|within|for)\s+the\s+(?:last|past)|the\s+past)\s+{_UNIT}\b(?!\s+of\b)",
        _past,
    ),
    rule("ago", rf"\b{_COUNTED}\s+{_UNIT}\s+(?:ago|back)\b", _ago, needs=_SAYS_AGO),
    rule("unit_before_last", r"\b(?:the\s+)?(?P<unit>day|week|weekend|month|year)\s+before\s+last\b", _before_last),
    rule(
        "relative_unit",
        r"\b(?P<which>last|this|next|previous)\s+(?P<unit>day|week|weekend|month|year)\b",
        _relative_unit,
    ),
    rule("over_the_weekend", r"\bover\s+the\s+weekend\b", _over_the_weekend),
    rule(
        "weekday",
        rf"\b(?:(?P<which>last|this\s+past|past|this|on|next)\s+|(?:on\s+)?the\s+(?=(?:{_WEEKDAYS})\s+before\s+last))"
        rf"{_WEEKDAY}(?P<before_last>\s+before\s+last)?\b",
        _weekday,
        repeats="week",
    ),
)
# Read only when nothing more precise is named: "what did I buy recently in May" is about May.
VAGUE: tuple[Rule, ...] = (
    rule("recently", r"\b(?:recently|lately|of late|these days|nowadays|in recent (?:days|weeks))\b", _recently),
    rule("a_while_ago", r"\b(?:a\s+(?:little\s+)?while|some\s+time)\s+(?:ago|back)\b", _a_while_ago),
)
# Only as an end of a span ("from Monday to Wednesday").
SPAN_ENDS: tuple[Rule, ...] = (
    rule("bare_weekday", rf"\b(?P<which>){_WEEKDAY}(?P<before_last>)\b", _weekday, repeats="week"),
)
