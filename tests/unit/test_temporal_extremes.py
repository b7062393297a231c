"""Time expressions at any count and any reference time give a range cut to the window, never an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from memory.contract.validation import EARLIEST, LATEST
from memory.language.time_expressions import find_time_range, read_temporal_intent
from memory.language.time_window import WINDOW_END, cut_to_window, within_window

REF = datetime(2023, 5, 17, 15, 30, tzinfo=UTC)
EDGES = [
    EARLIEST,
    LATEST,
    datetime(1, 1, 1, tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))) + timedelta(hours=1),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))) - timedelta(hours=1),
    datetime(2023, 5, 17),  # naive: read as it is, compared with naive edges
]
EXPRESSIONS = [
    "what did I do 100000 years ago?",
    "99999999 days ago",
    "9" * 2000 + " weeks ago",
    "in the last 99999999999 months",
    "the past 400000 years",
    "yesterday",
    "the day before yesterday",
    "tomorrow",
    "next week",
    "last week",
    "next weekend",
    "next month",
    "last month",
    "next year",
    "last year",
    "last Sunday",
    "in December",
    "on 2023-13-45",
    "on 2099-02-29",
    "before 1900",
    "since 2099",
]


@pytest.mark.parametrize("reference", EDGES, ids=lambda r: r.isoformat())
@pytest.mark.parametrize("query", EXPRESSIONS)
def test_any_expression_at_any_reference_is_a_range_inside_the_window(query: str, reference: datetime) -> None:
    found = find_time_range(query, reference)
    read_temporal_intent(query, reference)  # the whole reading, not only the range
    if found is None:
        assert "13-45" in query or "02-29" in query
        return
    earliest = EARLIEST.replace(tzinfo=None) if reference.tzinfo is None else EARLIEST
    end = WINDOW_END.replace(tzinfo=None) if reference.tzinfo is None else WINDOW_END
    for side in (found.start, found.end):
        assert side is None or earliest <= side <= end
    if found.start is not None and found.end is not None:
        assert found.start <= found.end


def test_a_count_far_in_the_past_is_the_empty_range_at_the_earliest_time() -> None:
    for query in ("what did I do 100000 years ago?", "99999999 days ago", "1000000 months ago"):
        found = find_time_range(query, REF)
        assert found is not None
        assert (found.start, found.end) == (EARLIEST, EARLIEST), query
        assert not found.contains(EARLIEST)


def test_a_range_reaching_past_the_window_ends_at_its_edge() -> None:
    found = find_time_range("what did I do in the past 200 years", REF)
    assert found is not None
    assert found.start == EARLIEST
    assert found.end == REF + timedelta(seconds=1)


def test_next_year_from_the_latest_time_is_empty_at_the_end_of_the_window() -> None:
    found = find_time_range("next year", LATEST)
    assert found is not None
    assert (found.start, found.end) == (WINDOW_END, WINDOW_END)


def test_yesterday_from_a_reference_before_the_window_reads_from_its_first_day() -> None:
    found = find_time_range("yesterday", datetime(1, 1, 1, tzinfo=UTC))
    assert found is not None
    assert (found.start, found.end) == (EARLIEST, EARLIEST)  # 1899-12-31, cut to the window
    today = find_time_range("today", datetime(1, 1, 1, tzinfo=UTC))
    assert today is not None
    assert (today.start, today.end) == (EARLIEST, EARLIEST + timedelta(days=1))


def test_ordinary_counts_are_unchanged() -> None:
    found = find_time_range("3 days ago", REF)
    assert found is not None
    assert (found.start, found.end) == (datetime(2023, 5, 13, tzinfo=UTC), datetime(2023, 5, 16, tzinfo=UTC))


def test_window_helpers_keep_open_sides_and_time_zones() -> None:
    assert cut_to_window(None, REF) == (None, REF)
    plus_two = timezone(timedelta(hours=2))
    moved = within_window(datetime(1, 1, 1, tzinfo=plus_two) + timedelta(days=1))
    assert moved == EARLIEST and moved.tzinfo == plus_two
    assert within_window(datetime.max) == LATEST.replace(tzinfo=None)
