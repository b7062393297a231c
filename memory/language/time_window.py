"""The window every time read from a query falls in: ``memory.contract.validation``'s EARLIEST .. LATEST.

A query may hold any count ("what did I do 100000 years ago?", "99999999 days ago"); Python's datetime may
not (years 1..9999, a timedelta up to 999,999,999 days), so unchecked arithmetic on such a count raises. The
temporal parser therefore
- reads the reference time inside the window (a caller outside it is moved to the nearest edge);
- caps a count at the window's span in its unit (plus a margin for the one-unit widening of "N units ago"):
  a count that large lands outside the window from any reference in it, and every intermediate date stays
  centuries inside datetime's range;
- cuts every range it computes to the window: a range reaching past an edge ends at that edge, and a range
  wholly outside becomes the empty range at the nearest edge (``start == end``), which matches nothing.

Nothing the system stores lies outside the window (``memory.contract.validation.check_timestamp``), so cutting a range
there changes no answer; it only keeps "100000 years ago" from being an error.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from memory.contract.validation import EARLIEST, LATEST

# Ranges are half-open: the exclusive end that still lets LATEST itself be inside.
WINDOW_END = LATEST + timedelta(microseconds=1)
_SPAN_DAYS = (WINDOW_END - EARLIEST).days
_SPAN_YEARS = WINDOW_END.year - EARLIEST.year
# Two units of margin: "N units ago" reaches one unit further back than N.
MAX_COUNT = {
    "day": _SPAN_DAYS + 2,
    "week": _SPAN_DAYS // 7 + 2,
    "weekend": _SPAN_DAYS // 7 + 2,
    "month": _SPAN_YEARS * 12 + 2,
    "year": _SPAN_YEARS + 2,
}


def capped_count(count: int, unit: str) -> int:
    return min(count, MAX_COUNT[unit])


def _bounds_like(moment: datetime) -> tuple[datetime, datetime]:
    """The window's edges, naive when ``moment`` is (comparing naive with aware datetimes raises)."""
    if moment.tzinfo is None:
        return EARLIEST.replace(tzinfo=None), WINDOW_END.replace(tzinfo=None)
    return EARLIEST, WINDOW_END


def within_window(moment: datetime) -> datetime:
    """``moment`` moved to the nearest edge of the window if outside it, in its own time zone."""
    earliest, end = _bounds_like(moment)
    if moment < earliest:
        return earliest.astimezone(moment.tzinfo) if moment.tzinfo else earliest
    if moment >= end:
        latest = end - timedelta(microseconds=1)
        return latest.astimezone(moment.tzinfo) if moment.tzinfo else latest
    return moment


def cut_to_window(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """A half-open range cut to the window; an open side stays open. Wholly outside: empty at the edge."""

    def clamp(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        earliest, window_end = _bounds_like(moment)
        return min(max(moment, earliest), window_end)

    cut_start, cut_end = clamp(start), clamp(end)
    if cut_start is not None and cut_end is not None and cut_end < cut_start:
        cut_end = cut_start
    return cut_start, cut_end


__all__ = ["MAX_COUNT", "WINDOW_END", "capped_count", "cut_to_window", "within_window"]
