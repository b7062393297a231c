"""Time-scoped questions generated from LoCoMo's session dates: every way issue 18 (point 2) names a time.

Pure and seeded: the same data, seed and count give the same questions, word for word, so a figure can be
reproduced and compared across branches. Each question names one time the way a user would ("what did we
talk about on the eighth of May?", "… in our last session?"), with a reference time placed after the
session(s) it names, and its evidence is exactly the sessions whose start lies in the time it names (for
session phrases: the sessions it counts to). Nothing is written per conversation: every question comes from
a form's rule applied to a target session drawn by the seeded generator.

Session phrases count back from the session the question is asked in: every reference time here lies at
least an hour after the last turn of a session and before the next one starts, so the question opens a new
session and "our last session" is the one just before the reference (``SessionRef.ago`` = 1).

The phrases are written here, independently of ``memory.language.time_expressions`` (which reads them), so the
unit tests check the reader against a second source rather than against itself.
"""

from __future__ import annotations

import calendar
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.locomo_data import Conversation
from memory.language.time_expressions import SessionRef, read_temporal_intent

_DIA_SESSION = re.compile(r"^D(\d+):")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_ORDINAL_UNITS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_ORDINAL_TEENS = (
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
)
TEMPLATES = (
    "What did we talk about {p}?",
    "What did we discuss {p}?",
    "Can you summarize what we talked about {p}?",
    "Remind me what came up {p}.",
)


@dataclass(frozen=True)
class SessionDate:
    number: int  # LoCoMo's session number (the "D<n>:" of its turns), from 1
    start: datetime  # its first turn


@dataclass(frozen=True)
class TimeQuestion:
    form: str
    conversation: int  # index into the data file (the half it belongs to: bench.locomo_split)
    sample_id: str
    phrase: str  # the time phrase alone, as it appears in the question
    question: str
    reference_time: datetime
    evidence: tuple[int, ...]  # session numbers


# --- words ------------------------------------------------------------------------------------------------


def ordinal_suffix(day: int) -> str:
    """8 → "8th", 21 → "21st", 12 → "12th"."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def ordinal_words(day: int) -> str:
    """1..31 in words: "eighth", "twenty-first", "thirtieth"."""
    if day < 10:
        return _ORDINAL_UNITS[day]
    if day < 20:
        return _ORDINAL_TEENS[day - 10]
    tens = {2: "twenty", 3: "thirty"}[day // 10]
    if day % 10 == 0:
        return tens[:-1] + "ieth"
    return f"{tens}-{_ORDINAL_UNITS[day % 10]}"


def count(n: int, rng: random.Random) -> str:
    """A count as people write it: in words or in digits, at random."""
    return _SMALL[n] if n < len(_SMALL) and rng.random() < 0.5 else str(n)


def month_name(moment: datetime) -> str:
    return calendar.month_name[moment.month]


# --- sessions ---------------------------------------------------------------------------------------------


def session_number(dia_id: str) -> int | None:
    match = _DIA_SESSION.match(dia_id)
    return int(match.group(1)) if match else None


def session_dates(conversation: Conversation) -> list[SessionDate]:
    """The conversation's sessions in time order, each dated by its first turn."""
    starts: dict[int, datetime] = {}
    for turn in conversation.turns:
        number = session_number(turn.dia_id)
        if number is not None and (number not in starts or turn.occurred_at < starts[number]):
            starts[number] = turn.occurred_at
    return sorted((SessionDate(n, at) for n, at in starts.items()), key=lambda s: s.start)


def starting_within(sessions: Iterable[SessionDate], start: datetime, end: datetime) -> tuple[int, ...]:
    return tuple(s.number for s in sessions if start <= s.start < end)


def midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def week_start(moment: datetime) -> datetime:
    return midnight(moment) - timedelta(days=moment.weekday())


def month_start(moment: datetime) -> datetime:
    return midnight(moment).replace(day=1)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1, day=1)


def between_sessions(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> datetime | None:
    """A moment after session ``i`` ended and before the next began: the question opens a new session.

    LoCoMo's sessions last at most a few minutes (its turns are a second apart) and start a day or more apart,
    so one to twenty hours after the start is between the two."""
    at = sessions[i].start + rng.uniform(1, 20) * HOUR
    return at if i + 1 == len(sessions) or at < sessions[i + 1].start else None


# --- the forms --------------------------------------------------------------------------------------------
# Each takes the sessions, a target index and the generator, and returns (phrase, reference, evidence) or
# None when the target does not suit the form (no session before it, a reference that would cross the next).

Made = tuple[str, datetime, tuple[int, ...]] | None
Form = Callable[[Sequence[SessionDate], int, random.Random], Made]


def _on_day(sessions: Sequence[SessionDate], day: datetime) -> tuple[int, ...]:
    return starting_within(sessions, midnight(day), midnight(day) + DAY)


def date_with_year(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    at = sessions[i].start
    phrase = rng.choice(
        (f"on {month_name(at)} {ordinal_suffix(at.day)}, {at.year}", f"on {at.day} {month_name(at)} {at.year}")
    )
    return phrase, at + rng.uniform(1, 90) * DAY, _on_day(sessions, at)


def _yearless(sessions: Sequence[SessionDate], i: int, rng: random.Random, phrase: str) -> Made:
    # "A year-less date is the most recent such date not after the reference": within the next ten months.
    at = sessions[i].start
    return phrase, midnight(at) + rng.uniform(1, 300) * DAY, _on_day(sessions, at)


def date_without_year(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    at = sessions[i].start
    phrase = rng.choice((f"on {month_name(at)} {ordinal_suffix(at.day)}", f"on {at.day} {month_name(at)}"))
    return _yearless(sessions, i, rng, phrase)


def date_in_words(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    at = sessions[i].start
    phrase = rng.choice(
        (f"on the {ordinal_words(at.day)} of {month_name(at)}", f"on {month_name(at)} {ordinal_words(at.day)}")
    )
    return _yearless(sessions, i, rng, phrase)


def date_numeric(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    at = sessions[i].start
    return _yearless(sessions, i, rng, f"on {at.month}/{at.day}")


def _span(sessions: Sequence[SessionDate], i: int, rng: random.Random, words: tuple[str, str]) -> Made:
    j = i + rng.randint(1, 3)
    if j >= len(sessions):
        return None
    first, last = sessions[i].start, sessions[j].start
    if last - first > 300 * DAY:
        return None  # a year-less span must lie within the year before the reference
    ends = [f"{month_name(d)} {ordinal_suffix(d.day)}" for d in (first, last)]
    phrase = f"{words[0]} {ends[0]} {words[1]} {ends[1]}"
    reference = midnight(last) + rng.uniform(1, 30) * DAY
    return phrase, reference, starting_within(sessions, midnight(first), midnight(last) + DAY)


def span_between(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    return _span(sessions, i, rng, ("between", "and"))


def span_from_to(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    return _span(sessions, i, rng, ("from", rng.choice(("to", "through", "until"))))


def over_last_days(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    # The session lies k days and some hours back; "the last k+1 days" count back from the reference itself.
    days = rng.randint(1, 6)
    reference = sessions[i].start + days * DAY + rng.uniform(1, 20) * HOUR
    window = days + 1
    phrase = rng.choice((f"over the last {count(window, rng)} days", f"in the past {count(window, rng)} days"))
    return phrase, reference, starting_within(sessions, reference - window * DAY, reference)


def days_ago(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    days = rng.randint(1, 6)
    day = midnight(sessions[i].start)
    phrase = "yesterday" if days == 1 else f"{count(days, rng)} days ago"
    return phrase, day + days * DAY + rng.uniform(8, 22) * HOUR, _on_day(sessions, day)


def weeks_ago(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    weeks = rng.randint(1, 3)
    week = week_start(sessions[i].start)
    phrase = "last week" if weeks == 1 else f"{count(weeks, rng)} weeks ago"
    reference = week + timedelta(weeks=weeks) + rng.uniform(0.2, 6.8) * DAY
    return phrase, reference, starting_within(sessions, week, week + timedelta(weeks=1))


def months_ago(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    months = rng.randint(1, 3)
    month = month_start(sessions[i].start)
    asked_in = add_months(month, months)
    phrase = "last month" if months == 1 else f"{count(months, rng)} months ago"
    reference = asked_in + rng.uniform(0.2, 27.8) * DAY
    return phrase, reference, starting_within(sessions, month, add_months(month, 1))


def month_named(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    # After the month has ended and within the next ten months: the most recent such month is the session's.
    month = month_start(sessions[i].start)
    following = add_months(month, 1)
    reference = following + rng.uniform(0.2, 300) * DAY
    return f"in {month_name(month)}", reference, starting_within(sessions, month, following)


def named_weekday(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    # One to six days later, so the weekday named is the session's day, never the reference's own.
    day = midnight(sessions[i].start)
    name = calendar.day_name[day.weekday()]
    reference = day + rng.randint(1, 6) * DAY + rng.uniform(8, 22) * HOUR
    phrase = rng.choice((f"last {name}", f"on {name}", f"this past {name}"))
    return phrase, reference, _on_day(sessions, day)


def earlier_today(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    start = sessions[i].start
    reference = min(start + rng.uniform(1, 6) * HOUR, midnight(start) + DAY - timedelta(minutes=1))
    if reference - start < timedelta(minutes=10):
        return None  # a session at midnight: "earlier today" would be a different day
    return "earlier today", reference, starting_within(sessions, midnight(start), reference)


def first_session(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    reference = between_sessions(sessions, i, rng)
    if i < 1 or reference is None:
        return None  # asked after the first session only: otherwise the first is the one asked in
    phrase = rng.choice(("in our first session", "in the first session", "in our first conversation"))
    return phrase, reference, (sessions[0].number,)


def last_session(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    reference = between_sessions(sessions, i, rng)
    if reference is None:
        return None
    phrase = rng.choice(("in our last session", "in the previous session", "in our last conversation"))
    return phrase, reference, (sessions[i].number,)


def sessions_ago(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    back = rng.randint(2, 6)  # 1 is "our last session"
    reference = between_sessions(sessions, i, rng)
    if i + 1 - back < 0 or reference is None:
        return None
    return f"{count(back, rng)} sessions ago", reference, (sessions[i + 1 - back].number,)


def session_before_last(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    reference = between_sessions(sessions, i, rng)
    if i < 1 or reference is None:
        return None
    return "in the session before last", reference, (sessions[i - 1].number,)


def sessions_through(sessions: Sequence[SessionDate], i: int, rng: random.Random) -> Made:
    # Sessions i+1 .. i+1+n by number, asked after the last of them.
    last = i + rng.randint(1, 3)
    if last >= len(sessions):
        return None
    reference = between_sessions(sessions, last + rng.randint(0, 2) if last + 2 < len(sessions) else last, rng)
    if reference is None:
        return None
    first_n, last_n = sessions[i].number, sessions[last].number
    phrase = rng.choice(
        (
            f"in sessions {first_n} through {last_n}",
            f"in sessions {first_n} to {last_n}",
            f"between sessions {first_n} and {last_n}",
        )
    )
    return phrase, reference, tuple(s.number for s in sessions[i : last + 1])


FORMS: dict[str, Form] = {
    "date with year": date_with_year,
    "date without year": date_without_year,
    "date, ordinal in words": date_in_words,
    "date as 5/8": date_numeric,
    "span between … and …": span_between,
    "span from … to …": span_from_to,
    "over the last N days": over_last_days,
    "yesterday / N days ago": days_ago,
    "last week / N weeks ago": weeks_ago,
    "last month / N months ago": months_ago,
    "month named (in May)": month_named,
    "named weekday": named_weekday,
    "earlier today": earlier_today,
    "our first session": first_session,
    "our last session": last_session,
    "N sessions ago": sessions_ago,
    "the session before last": session_before_last,
    "sessions 1 through 3": sessions_through,
}
SESSION_FORMS = frozenset(
    {"our first session", "our last session", "N sessions ago", "the session before last", "sessions 1 through 3"}
)


def questions_for(conversation: Conversation, per_form: int, seed: int) -> list[TimeQuestion]:
    """Up to ``per_form`` questions of every form about distinct target sessions of one conversation."""
    sessions = session_dates(conversation)
    made: list[TimeQuestion] = []
    for form, build in FORMS.items():
        # One generator per conversation and form: adding a form or a conversation changes no other question.
        rng = random.Random(f"{seed}:{conversation.index}:{form}")
        targets = list(range(len(sessions)))
        rng.shuffle(targets)
        taken = 0
        for i in targets:
            if taken == per_form:
                break
            found = build(sessions, i, rng)
            if found is None or not found[2]:
                continue
            phrase, reference, evidence = found
            question = rng.choice(TEMPLATES).format(p=phrase)
            made.append(
                TimeQuestion(form, conversation.index, conversation.sample_id, phrase, question, reference, evidence)
            )
            taken += 1
    return made


def generate(conversations: Iterable[Conversation], per_form: int = 3, seed: int = 18) -> list[TimeQuestion]:
    return [q for c in conversations for q in questions_for(c, per_form, seed)]


def session_hit_at(evidence: Iterable[int], dia_ids: Sequence[str], k: int) -> bool:
    """Is at least one of the top-k hits from an evidence session?"""
    wanted = set(evidence)
    return any(session_number(d) in wanted for d in dia_ids[:k])


# --- what the reader makes of a question (the unit tests and the report's "read" column) --------------------


def resolve_sessions(ref: SessionRef, sessions: Sequence[SessionDate], reference: datetime) -> tuple[int, ...]:
    """The sessions a ``SessionRef`` names, asked at ``reference`` in a new session: numbers from 1 as they
    are, a count back over the sessions that started before the reference (1: the last of them)."""
    before = [s.number for s in sessions if s.start < reference]
    if ref.numbers is not None:
        first, last = ref.numbers
        return tuple(n for n in before if first <= n <= last)
    assert ref.ago is not None
    nearest, farthest = ref.ago
    return tuple(before[-back] for back in range(farthest, nearest - 1, -1) if 1 <= back <= len(before))


def read_sessions(question: TimeQuestion, sessions: Sequence[SessionDate]) -> tuple[int, ...]:
    """The sessions the reader says the question is about: those it counts to, or those starting in its range."""
    intent = read_temporal_intent(question.question, question.reference_time)
    if intent.session is not None:
        return resolve_sessions(intent.session, sessions, question.reference_time)
    if intent.range is None:
        return ()
    return tuple(s.number for s in sessions if intent.range.contains(s.start))
