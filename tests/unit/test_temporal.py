"""Time expressions read relative to a reference time (memory.language.time_expressions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memory.language.time_expressions import (
    TIME_CUE_PATTERN,
    find_time_range,
    range_around_anchor,
    read_temporal_intent,
)

# A Wednesday.
REF = datetime(2023, 5, 17, 15, 30, tzinfo=UTC)


def d(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("what did I eat yesterday?", d(2023, 5, 16), d(2023, 5, 17)),
        ("what happened today", d(2023, 5, 17), d(2023, 5, 18)),
        ("the day before yesterday", d(2023, 5, 15), d(2023, 5, 16)),
        ("what did we do last week", d(2023, 5, 8), d(2023, 5, 15)),
        ("plans for this week", d(2023, 5, 15), d(2023, 5, 22)),
        ("next week's trip", d(2023, 5, 22), d(2023, 5, 29)),
        ("where did I go last month", d(2023, 4, 1), d(2023, 5, 1)),
        ("last year", d(2022, 1, 1), d(2023, 1, 1)),
        ("what did I do last weekend", d(2023, 5, 13), d(2023, 5, 15)),
        ("What did Alice do in May 2023?", d(2023, 5, 1), d(2023, 6, 1)),
        ("in December 2022", d(2022, 12, 1), d(2023, 1, 1)),
        ("on 8 May, 2023", d(2023, 5, 8), d(2023, 5, 9)),
        ("on May 8th, 2023", d(2023, 5, 8), d(2023, 5, 9)),
        ("on 2023-05-08", d(2023, 5, 8), d(2023, 5, 9)),
        ("in 2021", d(2021, 1, 1), d(2022, 1, 1)),
        # A month without a year: its latest occurrence at or before the reference.
        ("what did I do in March", d(2023, 3, 1), d(2023, 4, 1)),
        ("what did I do in August", d(2022, 8, 1), d(2022, 9, 1)),
        ("last Monday", d(2023, 5, 15), d(2023, 5, 16)),
        ("on Wednesday", d(2023, 5, 17), d(2023, 5, 18)),
        ("last Wednesday", d(2023, 5, 10), d(2023, 5, 11)),
        # "3 days ago": that day, widened by a day either side because people round.
        ("3 days ago", d(2023, 5, 13), d(2023, 5, 16)),
        ("two weeks ago", d(2023, 4, 24), d(2023, 5, 15)),
    ],
)
def test_closed_ranges(query: str, start: datetime, end: datetime) -> None:
    found = find_time_range(query, REF)
    assert found is not None, query
    assert (found.start, found.end) == (start, end), query


def test_in_the_past_n_days_ends_at_the_reference() -> None:
    found = find_time_range("what did I read in the past 10 days", REF)
    assert found is not None
    assert found.start == datetime(2023, 5, 7, 15, 30, tzinfo=UTC)
    assert found.end is not None and found.end > REF and found.contains(REF)


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("what did I like before May 2023", None, d(2023, 5, 1)),
        ("since 2022", d(2022, 1, 1), None),
        ("after March 2023", d(2023, 4, 1), None),
    ],
)
def test_open_ranges(query: str, start: datetime | None, end: datetime | None) -> None:
    found = find_time_range(query, REF)
    assert found is not None
    assert (found.start, found.end) == (start, end)


@pytest.mark.parametrize(
    "query",
    ["where does Alice live?", "I love Sunday brunch", "What is Sarah's job?", "the march of progress"],
)
def test_no_time_expression(query: str) -> None:
    assert find_time_range(query, REF) is None


def test_anchor_before_an_event_and_its_range() -> None:
    intent = read_temporal_intent("Where did I live before the move?", REF)
    assert intent.range is None
    assert intent.anchor == "move" and intent.anchor_direction == "before"
    moved = d(2023, 2, 1)
    span = range_around_anchor(moved, "before", "before move")
    assert span.contains(d(2023, 1, 31)) and not span.contains(moved)
    after = read_temporal_intent("what changed since my wedding?", REF)
    assert after.anchor == "wedding" and after.anchor_direction == "after"


def test_recency_and_when_questions() -> None:
    assert read_temporal_intent("what have I been reading recently", REF).wants_recent
    assert read_temporal_intent("When did Caroline go to the support group?", REF).asks_when
    plain = read_temporal_intent("Where does Alice live?", REF)
    assert not plain.is_temporal


def test_an_impossible_date_falls_back_to_its_month() -> None:
    found = find_time_range("on 31 February 2023", REF)
    assert found is not None and (found.start, found.end) == (d(2023, 2, 1), d(2023, 3, 1))


def test_time_cue_pattern_matches_dated_memories_only() -> None:
    import re

    cue = re.compile(TIME_CUE_PATTERN, re.I)
    assert cue.search("I went to the support group yesterday")
    assert cue.search("We adopted a dog in 2021")
    assert not cue.search("I love pottery and painting")
