"""Sessions a question names resolve against the user's stored sessions into the time they span."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memory.language.time_expressions import SessionRef, find_session
from memory.retrieval.session_windows import StoredSession, current_index, session_window

GAP = timedelta(minutes=30)


def day(n: int, hour: int = 10) -> datetime:
    return datetime(2024, 5, n, hour, tzinfo=UTC)


# Five sessions on May 1, 3, 5, 7, 9, an hour each (stored out of order: the resolver sorts).
SESSIONS = [StoredSession(day(n), day(n, 11)) for n in (5, 1, 9, 3, 7)]
AFTER = day(10)  # the next day: the question opens a new session


def window(question: str, reference: datetime = AFTER) -> tuple[datetime | None, datetime | None]:
    ref = find_session(question)
    assert ref is not None, question
    found = session_window(ref, SESSIONS, reference, GAP)
    return found.start, found.end


def span(first: int, last: int) -> tuple[datetime, datetime]:
    return day(first), day(last, 11) + timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("what did we talk about in our first session?", (1, 1)),
        ("summarize our last session", (9, 9)),
        ("what did we discuss in the previous session?", (9, 9)),
        ("the session before last", (7, 7)),
        ("what came up 3 sessions ago?", (5, 5)),
        ("what came up two sessions ago?", (7, 7)),
        ("sessions 1 through 3", (1, 5)),
        ("between sessions two and four", (3, 7)),
        ("our last three sessions", (5, 9)),
        ("the first two sessions", (1, 3)),
        ("in session 4", (7, 7)),
        ("our second session", (3, 3)),
    ],
)
def test_each_form_resolves_to_the_sessions_it_names(question: str, days: tuple[int, int]) -> None:
    assert window(question) == span(*days)


def test_within_an_ongoing_session_the_last_session_is_the_one_before() -> None:
    # Asked twenty minutes after the May 9 session's last turn: the question belongs to it.
    during = day(9, 11) + timedelta(minutes=20)
    assert window("summarize our last session", during) == span(7, 7)
    assert window("what did we say this session?", during) == span(9, 9)
    # Just over the gap later, May 9 is over and is "the last session".
    later = day(9, 11) + GAP + timedelta(seconds=1)
    assert window("summarize our last session", later) == span(9, 9)


def test_sessions_after_the_reference_time_do_not_count() -> None:
    # Asked on May 6 (an as-of question): the May 7 and May 9 sessions had not happened.
    assert window("summarize our last session", day(6)) == span(5, 5)
    assert window("sessions 1 through 9", day(6)) == span(1, 5)


def test_a_session_that_does_not_exist_is_an_empty_window() -> None:
    for question in ("our 20th session", "20 sessions ago", "session 6"):
        start, end = window(question)
        assert start == end == AFTER, question
    empty = session_window(SessionRef("our first session", numbers=(1, 1)), [], AFTER, GAP)
    assert empty.start == empty.end == AFTER


def test_a_range_running_past_the_last_session_is_cut_to_what_exists() -> None:
    assert window("our last ten sessions") == span(1, 9)


def test_the_current_session_is_a_new_one_after_the_gap() -> None:
    ordered = sorted(SESSIONS)
    assert current_index(ordered, AFTER, GAP) == 5
    assert current_index(ordered, day(9, 11) + GAP, GAP) == 4  # a pause of exactly the gap stays in the session
    assert current_index([], AFTER, GAP) == 0
