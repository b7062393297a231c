"""The time-scoped question generator (bench/locomo_time_questions.py), on a hand-made conversation.

Each form must produce questions whose evidence is the session(s) its phrase names, asked after them, and the
temporal reader (memory.language.time_expressions) must read each phrase as a window (or a session count)
that holds exactly those sessions, or, for the forms the reader widens on purpose ("3 days ago"), contains them.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from bench.locomo_data import conversations_from
from bench.locomo_time_questions import (
    FORMS,
    SESSION_FORMS,
    SessionDate,
    date_without_year,
    first_session,
    generate,
    last_session,
    ordinal_suffix,
    ordinal_words,
    read_sessions,
    session_before_last,
    session_dates,
    session_hit_at,
    sessions_ago,
    span_between,
)

DATES = (
    "1:56 pm on 8 May, 2023",
    "9:05 am on 10 May, 2023",
    "2:00 pm on 20 May, 2023",
    "7:30 pm on 2 June, 2023",
    "11:00 am on 15 June, 2023",
    "4:00 pm on 1 July, 2023",
    "10:00 am on 28 July, 2023",
    "8:00 pm on 12 August, 2023",
    "9:00 am on 29 December, 2023",
    "6:00 pm on 3 January, 2024",
)
# The reader widens these on purpose ("3 days ago" also covers the days either side): their window may hold
# more sessions than the phrase names. Every other form's window holds exactly the sessions named.
WIDENED = frozenset({"yesterday / N days ago", "last week / N weeks ago", "last month / N months ago"})


def sample() -> dict[str, Any]:
    conversation: dict[str, Any] = {"speaker_a": "Ann", "speaker_b": "Bob"}
    for number, date in enumerate(DATES, start=1):
        conversation[f"session_{number}_date_time"] = date
        conversation[f"session_{number}"] = [
            {"speaker": "Ann", "dia_id": f"D{number}:1", "text": f"Session {number} begins."},
            {"speaker": "Bob", "dia_id": f"D{number}:2", "text": "Indeed."},
        ]
    return {"sample_id": "conv-x", "conversation": conversation, "qa": []}


CONVERSATION = conversations_from([sample()])[0]
SESSIONS = session_dates(CONVERSATION)
QUESTIONS = generate([CONVERSATION], per_form=3, seed=7)


def test_sessions_are_dated_by_their_first_turn_in_time_order() -> None:
    assert [s.number for s in SESSIONS] == list(range(1, len(DATES) + 1))
    assert SESSIONS[0].start.isoformat() == "2023-05-08T13:56:00+00:00"


def test_every_form_makes_questions_and_the_same_seed_the_same_ones() -> None:
    assert {q.form for q in QUESTIONS} == set(FORMS)
    assert generate([CONVERSATION], per_form=3, seed=7) == QUESTIONS
    assert generate([CONVERSATION], per_form=3, seed=8) != QUESTIONS


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: f"{q.form}: {q.question}")
def test_the_reader_reads_each_phrase_as_the_sessions_it_names(question: Any) -> None:
    assert question.phrase in question.question
    assert question.evidence
    named = [s for s in SESSIONS if s.number in question.evidence]
    assert all(s.start < question.reference_time for s in named), "asked after the sessions it names"
    read = read_sessions(question, SESSIONS)
    if question.form in WIDENED:
        assert set(question.evidence) <= set(read)
    else:
        assert read == question.evidence


def test_session_phrases_are_asked_between_sessions() -> None:
    for question in (q for q in QUESTIONS if q.form in SESSION_FORMS):
        later = [s for s in SESSIONS if s.start > question.reference_time]
        last_before = max(s.start for s in SESSIONS if s.start < question.reference_time)
        assert (question.reference_time - last_before).total_seconds() >= 3600
        assert not later or later[0].start > question.reference_time


def made(form: Any, target: int, seed: int = 1) -> tuple[str, Any, tuple[int, ...]]:
    found = form(SESSIONS, target, random.Random(seed))
    assert found is not None
    phrase, reference, evidence = found
    return phrase, reference, evidence


def test_forms_name_the_target_session() -> None:
    phrase, _, evidence = made(date_without_year, 0)
    assert phrase in ("on May 8th", "on 8 May") and evidence == (1,)
    assert made(last_session, 4)[2] == (5,)
    assert made(session_before_last, 4)[2] == (4,)
    assert made(first_session, 6)[2] == (1,)
    phrase, _, evidence = made(sessions_ago, 6)
    back = (
        int(phrase.split()[0])
        if phrase[0].isdigit()
        else ["two", "three", "four", "five", "six"].index(phrase.split()[0]) + 2
    )
    assert evidence == (7 - back + 1,)


def test_a_span_names_every_session_from_its_start_to_its_end() -> None:
    phrase, _, evidence = made(span_between, 0)
    assert phrase.startswith("between May 8th and ")
    assert evidence == tuple(range(1, len(evidence) + 1)) and len(evidence) >= 2


def test_a_form_that_cannot_name_the_target_says_so() -> None:
    assert first_session(SESSIONS, 0, random.Random(1)) is None  # asked in the first session itself
    assert session_before_last(SESSIONS, 0, random.Random(1)) is None


def test_words() -> None:
    assert [ordinal_suffix(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st",
    ]  # fmt: skip
    assert [ordinal_words(d) for d in (1, 8, 12, 20, 21, 30, 31)] == [
        "first", "eighth", "twelfth", "twentieth", "twenty-first", "thirtieth", "thirty-first",
    ]  # fmt: skip


def test_session_hit_counts_any_of_the_top_k_from_an_evidence_session() -> None:
    hits = ["D3:1", "", "D5:2", "D4:7"]
    assert session_hit_at((4,), hits, 4)
    assert not session_hit_at((4,), hits, 3)
    assert not session_hit_at((1, 2), hits, 10)


def test_a_year_old_session_is_not_named_without_a_year() -> None:
    # A year-less date asked more than a year later would mean the next year's: the generator never does that.
    for question in QUESTIONS:
        if question.form in ("date without year", "date, ordinal in words", "date as 5/8"):
            named = next(s for s in SESSIONS if s.number == question.evidence[0])
            assert (question.reference_time - named.start).days < 365


def test_session_date_is_a_plain_value() -> None:
    assert SessionDate(1, SESSIONS[0].start) == SESSIONS[0]
