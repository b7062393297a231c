"""Dates named on the calendar: "2023-05-08", "5/8", "May 8th", "the eighth of May", "in May", "in 2023".

A date without a year is the most recent such date not after the reference time, because people mostly ask
about the past ("what did we talk about on May 8th?" asked in March means last May). "5/8" is month/day
(May 8th), the US order. A date that no calendar has ("April 31st", "2023-13-45") is no reading at all, so a
later rule may read the phrase instead (e.g. "31 February 2023" as February 2023).
"""

from __future__ import annotations

import re
from datetime import datetime

from memory.language.time_expressions.calendar import (
    TimeRange,
    day_range,
    day_start,
    latest_date,
    latest_month_year,
    month_range,
    year_range,
)
from memory.language.time_expressions.numbers import ORDINAL, ORDINAL_WORDS, ordinal
from memory.language.time_expressions.rules import MONTH, NAMES_A_MONTH, YEAR, Resolve, Rule, month_number, rule

# A day of the month before the month: digits ("8", "8th") may stand alone, words need "of" ("the eighth of").
_DAY_BEFORE_MONTH = rf"(?:the\s+)?(?P<day>\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?|{ORDINAL_WORDS}\s+of\s+)"
# Not a clock time, a percentage or a longer number after a month's day ("May 8:30", "March 5%").
_NOT_A_QUANTITY = r"(?!\s*(?::|\d|%|am\b|pm\b|percent\b))"
# A fraction or a measure is no date: "1/2 of the cake", "3/4 cup". A full stop may end a date ("on 5/8."), a
# decimal may not ("5/8.5").
_NOT_A_FRACTION = r"(?!\s*(?:of|cups?|teaspoons?|tablespoons?|inch(?:es)?|miles?|km|kg|lbs?|ounces?|oz)\b)"


def _day_of(match: re.Match[str]) -> int | None:
    return ordinal(re.sub(r"\s+of\s*$", "", match.group("day").strip(), flags=re.I).strip())


def _the_modal_may(match: re.Match[str]) -> bool:
    """ "you may first want to": lower-case "may" before a word is the verb; "May 8th" and "may 8th" are dates."""
    return match.group("month") == "may" and not match.group("day")[0].isdigit()


def _calendar_day(year: int, month: int, day: int | None, reference: datetime, text: str) -> TimeRange | None:
    if day is None:
        return None
    try:
        return day_range(day_start(reference).replace(year=year, month=month, day=day), text)
    except ValueError:
        return None  # "31 February": not a date


def _iso(match: re.Match[str], reference: datetime) -> TimeRange | None:
    year, month, day = (int(match.group(g)) for g in ("year", "month", "day"))
    if not 1 <= month <= 12:
        return None  # "2023-13-45": not a date
    return _calendar_day(year, month, day, reference, match.group(0).strip())


def _numeric(match: re.Match[str], reference: datetime) -> TimeRange | None:
    month, day = int(match.group("month")), int(match.group("day"))
    if match.groupdict().get("year") is None:
        return latest_date(reference, month, day, match.group(0).strip())
    year = int(match.group("year"))
    return _calendar_day(year + 2000 if year < 100 else year, month, day, reference, match.group(0).strip())


def _with_year(match: re.Match[str], reference: datetime) -> TimeRange | None:
    month = month_number(match.group("month"))
    return _calendar_day(int(match.group("year")), month, _day_of(match), reference, match.group(0).strip())


def _yearless(match: re.Match[str], reference: datetime) -> TimeRange | None:
    day = _day_of(match)
    if day is None:
        return None
    return latest_date(reference, month_number(match.group("month")), day, match.group(0).strip())


def _yearless_month_first(match: re.Match[str], reference: datetime) -> TimeRange | None:
    return None if _the_modal_may(match) else _yearless(match, reference)


def _month_year(match: re.Match[str], reference: datetime) -> TimeRange:
    return month_range(int(match.group("year")), month_number(match.group("month")), reference, match.group(0).strip())


def _month(match: re.Match[str], reference: datetime) -> TimeRange:
    """A month without a year: its latest occurrence at or before the reference ("last May": before this month)."""
    month = month_number(match.group("month"))
    year = latest_month_year(reference, month)
    if match.group(0).lower().startswith("last") and year == reference.year and month == reference.month:
        year -= 1
    return month_range(year, month, reference, match.group(0).strip())


def _year(match: re.Match[str], reference: datetime) -> TimeRange:
    return year_range(int(match.group("year")), reference, match.group(0).strip())


def named_month(name: str, pattern: str, resolve: Resolve, repeats: str | None = None) -> Rule:
    """A rule for a phrase that names a month: tried only on a text that names one."""
    return rule(name, pattern, resolve, repeats, needs=NAMES_A_MONTH)


# Most specific first: a full date before a month, a month before a year.
EXPLICIT: tuple[Rule, ...] = (
    rule("iso", rf"\b(?P<year>{YEAR})[-/](?P<month>\d\d)[-/](?P<day>\d\d)\b", _iso),
    rule(
        "numeric_with_year",
        r"(?<![\d/.])(?P<month>1[0-2]|0?[1-9])/(?P<day>3[01]|[12]\d|0?[1-9])/(?P<year>(?:19|20)?\d\d)(?![\d/])",
        _numeric,
    ),
    rule(
        "numeric",
        rf"(?<![\d/.])(?P<month>1[0-2]|0?[1-9])/(?P<day>3[01]|[12]\d|0?[1-9])(?![\d/]|\.\d){_NOT_A_FRACTION}",
        _numeric,
        repeats="year",
    ),
    named_month("day_month_year", rf"\b{_DAY_BEFORE_MONTH}(?P<month>{MONTH}),?\s+(?P<year>{YEAR})\b", _with_year),
    named_month(
        "month_day_year",
        rf"\b(?P<month>{MONTH})\s+(?:the\s+)?(?P<day>{ORDINAL})(?:,\s*|\s+)(?:of\s+)?(?P<year>{YEAR})\b",
        _with_year,
    ),
    named_month("month_year", rf"\b(?P<month>{MONTH}),?\s+(?:of\s+)?(?P<year>{YEAR})\b", _month_year),
    named_month("day_month", rf"\b{_DAY_BEFORE_MONTH}(?P<month>{MONTH})(?![\w])", _yearless, repeats="year"),
    named_month(
        "month_day",
        rf"\b(?P<month>{MONTH})\s+(?:the\s+)?(?P<day>{ORDINAL})\b{_NOT_A_QUANTITY}",
        _yearless_month_first,
        repeats="year",
    ),
)
# Whole months and years, read after the relative phrases ("last week in May" is last week).
LOOSE: tuple[Rule, ...] = (
    named_month(
        "month", rf"\b(?:in|during|since|before|after|of)\s+(?P<month>{MONTH})(?!\s*\d)\b", _month, repeats="year"
    ),
    named_month("last_month_name", rf"\blast\s+(?P<month>{MONTH})(?!\s*\d)\b", _month, repeats="year"),
    rule("year", rf"\b(?:in|during|since|before|after|of)\s+(?P<year>{YEAR})\b", _year),
    rule("bare_year", rf"\b(?P<year>{YEAR})\b", _year),
)
# Only as an end of a span ("between May and July", "from 2020 to 2022"), where the span says it is a time.
SPAN_ENDS: tuple[Rule, ...] = (named_month("bare_month", rf"\b(?P<month>{MONTH})(?![\w])", _month, repeats="year"),)
