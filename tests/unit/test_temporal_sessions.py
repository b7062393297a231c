"""Sessions a question names, read as numbers (from 1) or as a count back from the session asked in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memory.language.time_expressions import SessionRef, find_session, read_temporal_intent

REF = datetime(2023, 5, 17, 15, 30, tzinfo=UTC)

SESSIONS = [
    ("what did we talk about in our first session?", (1, 1), None),
    ("summarize the first conversation", (1, 1), None),
    ("what did we cover in our second session", (2, 2), None),
    ("in the 3rd session", (3, 3), None),
    ("what did we discuss in session 4?", (4, 4), None),
    ("session #4", (4, 4), None),
    ("in session four", (4, 4), None),
    ("sessions 1 through 3", (1, 3), None),
    ("sessions 2-5", (2, 5), None),
    ("sessions one to three", (1, 3), None),
    ("between sessions 1 and 3", (1, 3), None),
    ("our first three sessions", (1, 3), None),
    ("summarize our last session", None, (1, 1)),
    ("in the previous conversation", None, (1, 1)),
    ("the session before last", None, (2, 2)),
    ("the conversation before the last", None, (2, 2)),
    ("what did we say 3 sessions ago", None, (3, 3)),
    ("twenty sessions ago", None, (20, 20)),
    ("twenty-one sessions ago", None, (21, 21)),
    ("a session ago", None, (1, 1)),
    ("our last three sessions", None, (1, 3)),
    ("earlier in this session", None, (0, 0)),
]


@pytest.mark.parametrize(("phrase", "numbers", "ago"), SESSIONS)
def test_sessions_named(phrase: str, numbers: tuple[int, int] | None, ago: tuple[int, int] | None) -> None:
    found = find_session(phrase)
    assert found is not None, phrase
    assert (found.numbers, found.ago) == (numbers, ago), phrase


@pytest.mark.parametrize(
    "phrase",
    [
        "what did we discuss last week",
        "the conversation two weeks ago",  # a time, not session two
        "my session musician friend",
        "sessions of yoga",
        "session 0",
    ],
)
def test_no_session_named(phrase: str) -> None:
    assert find_session(phrase) is None


def test_a_session_is_part_of_the_intent_and_leaves_the_time_alone() -> None:
    intent = read_temporal_intent("what did we decide in our last session about the trip?", REF)
    assert intent.session == SessionRef("last session", ago=(1, 1))
    assert intent.range is None and intent.is_temporal
    both = read_temporal_intent("in our session on May 8th", REF)
    assert both.session is None and both.range is not None  # "our session" alone names no particular one
