"""Time expressions in a query, read relative to the query's reference time (part of ``memory.language``).

Pure and offline: ``read_temporal_intent(query, reference)`` turns "last week", "yesterday", "in May
2023", "3 days ago", "before the move" or "recently" into what the temporal retriever needs:
- a valid-time range (half-open ``[start, end)``, either side may be open);
- an anchor phrase ("the move") when the range is relative to an event the retriever must locate first;
- a recency wish ("recently", "latest") and a "when" question (the answer is a time, so memories that
  carry time cues are the useful ones).

Months without a year and weekdays resolve to their latest occurrence at or before the reference time,
because people mostly ask about the past. Ranges are whole calendar units (a day, a week starting on
Monday, a month, a year) so that "last week" means what a person means, not "the last 168 hours".

Any count and any reference time give a range, never an error: ranges are cut to the window of
``memory.language.time_window`` (1900-01-01 .. 2999-12-31 UTC, where every stored time lies), so "100000 years ago"
is the empty range at 1900-01-01 and matches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.language.time_window import capped_count, cut_to_window, within_window

MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_UNIT = r"(?P<unit>day|week|month|year)s?"
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "few": 3, "couple": 2}
_COUNT = r"(?P<count>\d+|a|an|one|two|three|four|five|six|few|couple(?: of)?)"

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


@dataclass(frozen=True)
class TimeRange:
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive
    expression: str

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class TemporalIntent:
    range: TimeRange | None = None
    anchor: str | None = None  # "before the move": the phrase whose time bounds the range
    anchor_direction: str | None = None  # "before" | "after"
    wants_recent: bool = False
    asks_when: bool = False

    @property
    def is_temporal(self) -> bool:
        return self.range is not None or self.anchor is not None or self.wants_recent or self.asks_when


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(year: int, month: int, like: datetime) -> datetime:
    return like.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def _month_range(year: int, month: int, like: datetime, expression: str) -> TimeRange:
    start = _month_start(year, month, like)
    return TimeRange(start, _next_month(start), expression)


def _year_range(year: int, like: datetime, expression: str) -> TimeRange:
    start = like.replace(year=year, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return TimeRange(start, start.replace(year=year + 1), expression)


def _shift_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def _unit_range(reference: datetime, unit: str, offset: int, expression: str) -> TimeRange:
    """The calendar ``unit`` that is ``offset`` units from the one holding ``reference`` (0: this one)."""
    today = _day_start(reference)
    if unit == "day":
        start = today + timedelta(days=offset)
        return TimeRange(start, start + timedelta(days=1), expression)
    if unit == "week":
        start = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
        return TimeRange(start, start + timedelta(weeks=1), expression)
    if unit == "weekend":
        saturday = today - timedelta(days=today.weekday()) + timedelta(days=5, weeks=offset)
        return TimeRange(saturday, saturday + timedelta(days=2), expression)
    if unit == "month":
        start = _shift_months(today, offset)
        return TimeRange(start, _next_month(start), expression)
    return _year_range(reference.year + offset, reference, expression)


# More digits than any count the window can hold; int() of thousands of digits is slow, and refused past 4300.
_MAX_COUNT_DIGITS = 9


def _count(raw: str, unit: str) -> int:
    """The count of "3 days", "a couple of weeks", capped where it would leave the window anyway."""
    raw = raw.lower().removesuffix(" of")
    if raw.isdigit():
        count = int(raw) if len(raw) <= _MAX_COUNT_DIGITS else 10**_MAX_COUNT_DIGITS
    else:
        count = _NUMBER_WORDS[raw]
    return capped_count(count, unit)


def _ago_range(reference: datetime, count: int, unit: str, expression: str) -> TimeRange:
    """ "3 weeks ago": the calendar unit that far back, widened by one unit each side because people round."""
    before = _unit_range(reference, unit, -count - 1, expression)
    after = _unit_range(reference, unit, min(-count + 1, 0), expression)
    return TimeRange(before.start, after.end, expression)


def _latest_month(reference: datetime, month: int) -> int:
    """The year of the latest ``month`` at or before the reference."""
    return reference.year if month <= reference.month else reference.year - 1


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("iso", r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)\b"),
        ("day_month_year", rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b"),
        ("month_day_year", rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b"),
        ("month_year", rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b"),
        ("day_before_yesterday", r"\bthe day before yesterday\b"),
        ("yesterday", r"\byesterday\b"),
        ("today", r"\b(today|tonight|this morning|this evening)\b"),
        ("tomorrow", r"\btomorrow\b"),
        ("past_n", rf"\b(?:in|over|during)?\s*the (?:last|past)\s+{_COUNT}\s+{_UNIT}\b"),
        ("ago", rf"\b{_COUNT}\s+{_UNIT}\s+ago\b"),
        ("relative_unit", r"\b(?P<which>last|this|next|previous)\s+(?P<unit>day|week|weekend|month|year)\b"),
        (
            "weekday",
            r"\b(?P<which>last|this|on)?\s*(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
        ),
        ("month", rf"\b(?:in|during|since|before|after|of)\s+{_MONTH}(?!\s*\d)\b"),
        ("year", rf"\b(?:in|during|since|before|after|of)\s+{_YEAR}\b"),
        ("bare_year", rf"\b{_YEAR}\b"),
    )
)
_BOUND = re.compile(r"\b(?P<dir>before|after|since|until|prior to)\s*$", re.I)
_ANCHOR = re.compile(
    r"\b(?P<dir>before|after|since|prior to)\s+(?:the|my|our|his|her|their|we|i|he|she|they)\s+"
    r"(?P<anchor>[a-z][\w' \-]{1,40}?)"
    r"(?=[?.!,;]|$|\s+(?:and|or|but|with|when|where|what|did|do|was|were|is)\b)",
    re.I,
)


def _range_for(name: str, match: re.Match[str], reference: datetime) -> TimeRange | None:
    text = match.group(0).strip()
    groups = match.groupdict()
    if name == "iso":
        try:
            start = reference.replace(
                year=int(groups["year"]),
                month=int(groups["month"]),
                day=int(groups["day"]),
                hour=0,
                minute=0,
                second=0,
                microsecond=0,
            )
        except ValueError:
            return None  # "2023-13-45": not a date
        return TimeRange(start, start + timedelta(days=1), text)
    if name in ("day_month_year", "month_day_year"):
        try:
            start = reference.replace(
                year=int(groups["year"]),
                month=MONTHS[groups["month"].lower()],
                day=int(groups["day"]),
                hour=0,
                minute=0,
                second=0,
                microsecond=0,
            )
        except ValueError:
            return None  # "31 February": not a date
        return TimeRange(start, start + timedelta(days=1), text)
    if name == "month_year":
        return _month_range(int(groups["year"]), MONTHS[groups["month"].lower()], reference, text)
    if name == "day_before_yesterday":
        return _unit_range(reference, "day", -2, text)
    if name in ("yesterday", "today", "tomorrow"):
        return _unit_range(reference, "day", {"yesterday": -1, "today": 0, "tomorrow": 1}[name], text)
    if name == "past_n":
        unit = groups["unit"].lower()
        count = _count(groups["count"], unit)
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * count
        return TimeRange(reference - timedelta(days=days), reference + timedelta(seconds=1), text)
    if name == "ago":
        unit = groups["unit"].lower()
        return _ago_range(reference, _count(groups["count"], unit), unit, text)
    if name == "relative_unit":
        offset = {"last": -1, "previous": -1, "this": 0, "next": 1}[groups["which"].lower()]
        return _unit_range(reference, groups["unit"].lower(), offset, text)
    if name == "weekday":
        wanted = WEEKDAYS[groups["weekday"].lower()]
        today = _day_start(reference)
        back = (today.weekday() - wanted) % 7
        if (groups.get("which") or "").lower() == "last" and back == 0:
            back = 7
        start = today - timedelta(days=back)
        return TimeRange(start, start + timedelta(days=1), text)
    if name == "month":
        month = MONTHS[groups["month"].lower()]
        return _month_range(_latest_month(reference, month), month, reference, text)
    if name in ("year", "bare_year"):
        return _year_range(int(groups["year"]), reference, text)
    return None


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
        return TimeRange(None, found.start, expression)
    return TimeRange(found.start if direction == "since" else found.end, None, expression)


def find_time_range(query: str, reference: datetime) -> TimeRange | None:
    """The first (most specific) time expression of the query as a range cut to the window, or None."""
    reference = within_window(reference)
    for name, pattern in _PATTERNS:
        match = pattern.search(query)
        if match is None:
            continue
        if name == "weekday" and not match.group("which") and not re.search(r"\bon\s+\w+day\b", query, re.I):
            continue  # "Sunday brunch" names a habit, not a date; "on Sunday" / "last Sunday" do
        found = _range_for(name, match, reference)
        if found is not None:
            bounded = _open_ended(found, query, match)
            return TimeRange(*cut_to_window(bounded.start, bounded.end), bounded.expression)
    return None


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
    )


def range_around_anchor(anchor_time: datetime, direction: str, expression: str) -> TimeRange:
    """ "before the move" once the move is located in time."""
    if direction == "before":
        return TimeRange(None, anchor_time, expression)
    return TimeRange(anchor_time, None, expression)


def without_time_words(words: list[str]) -> list[str]:
    """The query's words without the ones that only express time (what the memory must be about)."""
    return [w for w in words if w.lower() not in TIME_WORDS]
