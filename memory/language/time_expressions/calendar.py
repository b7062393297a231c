"""The range a time phrase stands for, and the calendar arithmetic every reading shares.

Ranges are half-open ``[start, end)`` and whole calendar units (a day, a week starting on Monday, a month, a
year), so that "last week" means what a person means, not "the last 168 hours". They are computed in the
reference time's own time zone: "yesterday" is the asker's yesterday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class TimeRange:
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive
    expression: str
    # A vague phrase ("a few days ago", "recently"): the range is deliberately wide and only leans the ranking
    # towards it (memory.retrieval.scoring), it never pushes what lies outside far down.
    vague: bool = False

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)


def day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def day_range(start: datetime, expression: str, days: int = 1) -> TimeRange:
    start = day_start(start)
    return TimeRange(start, start + timedelta(days=days), expression)


def next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def month_range(year: int, month: int, like: datetime, expression: str) -> TimeRange:
    start = like.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    return TimeRange(start, next_month(start), expression)


def year_range(year: int, like: datetime, expression: str) -> TimeRange:
    start = like.replace(year=year, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return TimeRange(start, start.replace(year=year + 1), expression)


def shift_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def unit_range(reference: datetime, unit: str, offset: int, expression: str) -> TimeRange:
    """The calendar ``unit`` that is ``offset`` units from the one holding ``reference`` (0: this one)."""
    today = day_start(reference)
    if unit == "day":
        return day_range(today + timedelta(days=offset), expression)
    if unit == "week":
        return day_range(today - timedelta(days=today.weekday()) + timedelta(weeks=offset), expression, days=7)
    if unit == "weekend":
        saturday = today - timedelta(days=today.weekday()) + timedelta(days=5, weeks=offset)
        return day_range(saturday, expression, days=2)
    if unit == "month":
        start = shift_months(today, offset)
        return TimeRange(start, next_month(start), expression)
    return year_range(reference.year + offset, reference, expression)


def units_back(reference: datetime, unit: str, nearest: int, farthest: int, expression: str) -> TimeRange:
    """From the calendar unit ``farthest`` units back to the end of the one ``nearest`` units back (0: this one)."""
    oldest = unit_range(reference, unit, -farthest, expression)
    newest = unit_range(reference, unit, -nearest, expression)
    return TimeRange(oldest.start, newest.end, expression)


def ago_range(reference: datetime, count: int, unit: str, expression: str) -> TimeRange:
    """ "3 weeks ago": the calendar unit that far back, widened by one unit each side because people round."""
    return units_back(reference, unit, max(count - 1, 0), count + 1, expression)


def latest_date(reference: datetime, month: int, day: int, expression: str) -> TimeRange | None:
    """A day without a year ("May 8th"): the most recent such day not after the reference; None if no year has it
    ("April 31st"). February 29th goes back to the last leap year."""
    for year in range(reference.year, reference.year - 9, -1):
        try:
            start = day_start(reference).replace(year=year, month=month, day=day)
        except ValueError:
            continue  # no such day this year: a February 29th outside a leap year, or no such day at all
        if start <= reference:
            return day_range(start, expression)
    return None


def latest_month_year(reference: datetime, month: int) -> int:
    """The year of the latest ``month`` at or before the reference."""
    return reference.year if month <= reference.month else reference.year - 1


def latest_weekday(reference: datetime, weekday: int) -> datetime:
    """The start of the latest ``weekday`` at or before the reference's day (today if it is that day)."""
    today = day_start(reference)
    return today - timedelta(days=(today.weekday() - weekday) % 7)
