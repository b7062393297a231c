"""Whether and how a named time scopes a question's answer, the time carried from earlier turns, and the orders
a time-scoped answer is given in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memory.language.time_expressions import TimeRange, read_temporal_intent
from memory.retrieval.context_budget import ContextItem, build_context
from memory.retrieval.recipes import recipe_named
from memory.retrieval.scoring import CandidateRow, Scored
from memory.retrieval.time_scope import (
    Scoping,
    Turn,
    carried_intent,
    informative_order,
    said_order,
    scoping,
    window_lean,
)

ASKED = datetime(2024, 6, 10, 12, tzinfo=UTC)  # a Monday


def scoped(question: str) -> Scoping:
    return scoping(question, read_temporal_intent(question, ASKED).ranking_range)


@pytest.mark.parametrize(
    "question",
    [
        "what did we discuss on May 8th?",
        "What did we talk about last Friday?",
        "can you summarize what we discussed between May 8th and June 9th?",
        "what happened yesterday?",
        "Remind me what we chatted about on the eighth of May",
        "what did we cover in May?",
        "what came up on Friday?",
    ],
)
def test_a_question_about_a_time_alone_is_answered_from_the_window(question: str) -> None:
    assert scoped(question) is Scoping.TIME


@pytest.mark.parametrize(
    "question",
    [
        "what did I say about the dog last week?",
        "Which restaurant did we pick on May 8th?",
        "what did Caroline paint in July 2023?",
    ],
)
def test_a_time_and_a_topic_lean_on_the_window(question: str) -> None:
    assert scoped(question) is Scoping.TIME_AND_TOPIC


@pytest.mark.parametrize(
    "question", ["what did we discuss a few days ago?", "what did I say recently?", "what's my dog's name?"]
)
def test_vague_times_and_no_time_do_not_scope(question: str) -> None:
    assert scoped(question) is Scoping.NONE


def test_a_resolved_session_scopes_like_a_time() -> None:
    session = TimeRange(ASKED - timedelta(days=2), ASKED - timedelta(days=1), "last session")
    assert scoping("summarize our last session", session) is Scoping.TIME
    assert scoping("what did we decide about the budget in our last session?", session) is Scoping.TIME_AND_TOPIC


def carried(question: str, *turns: tuple[str, str]) -> TimeRange | None:
    intent = read_temporal_intent(question, ASKED)
    found = carried_intent(question, intent, [Turn(role, text) for role, text in turns], ASKED)
    return None if found is None else found.ranking_range


def test_a_time_named_earlier_scopes_a_recall_request() -> None:
    found = carried(
        "can you summarize what we discussed?",
        ("user", "On May 8th we talked about moving to Lisbon."),
        ("assistant", "Yes, I remember that conversation."),
        ("user", "can you summarize what we discussed?"),
    )
    assert found is not None and (found.start, found.end) == (
        datetime(2024, 5, 8, tzinfo=UTC),
        datetime(2024, 5, 9, tzinfo=UTC),
    )


def test_the_latest_turn_naming_a_time_wins_and_a_session_is_carried() -> None:
    turns = (("user", "Last week was busy."), ("assistant", "Our first session was about your garden."))
    intent = read_temporal_intent("tell me more about that", ASKED)
    found = carried_intent("tell me more about that", intent, [Turn(r, t) for r, t in turns], ASKED)
    assert found is not None and found.session is not None and found.session.numbers == (1, 1)


def test_a_back_reference_carries_the_time_to_a_topic_question() -> None:
    assert carried("what did I say about the dog then?", ("user", "Yesterday I took Rex to the vet.")) is not None


def test_a_topic_question_without_a_back_reference_keeps_its_own_scope() -> None:
    assert carried("what's my dog's name?", ("user", "Yesterday I took Rex to the vet.")) is None


def test_the_question_s_own_time_is_not_overridden() -> None:
    assert carried("what did we discuss on June 1st?", ("user", "On May 8th we talked about Lisbon.")) is None


def test_system_and_tool_turns_carry_no_time() -> None:
    assert carried("summarize what we discussed", ("system", "Today is May 8th.")) is None
    assert carried("summarize what we discussed", ("tool", "fetched on May 8th")) is None


def row(memory_id: str, text: str, minute: int, offset: int | None = None, importance: float = 0.5) -> CandidateRow:
    return CandidateRow(
        memory_id, text, importance, datetime(2024, 5, 8, 10, minute, tzinfo=UTC), log_offset=offset
    )


def test_the_window_ranks_what_says_most_first_and_ties_by_said_order() -> None:
    rows = [
        row("hi", "User: Hi there!", 0, 1),
        row("move", "User: We are moving to Lisbon in September with the kids.", 1, 2),
        row("ask", "Assistant: Where are you moving?", 2, 3),
        row("job", "User: My new job at Feedzai starts in October.", 3, 4),
        row("same-a", "User: Thanks!", 4, 5),
        row("same-b", "User: Thanks!", 4, 6),
    ]
    order = [s.memory_id for s in informative_order(rows)]
    assert set(order[:2]) == {"move", "job"}  # both fully specific: the later said (job) first
    assert order[:2] == ["job", "move"]
    assert order.index("same-b") < order.index("same-a")  # equal: said later first, as everywhere
    assert set(order[-3:]) == {"hi", "same-a", "same-b"}


def test_importance_breaks_between_equally_specific_memories() -> None:
    low = row("low", "User: I bought a red bicycle yesterday downtown.", 0, 1, importance=0.1)
    high = row("high", "User: I bought a blue scooter yesterday uptown.", 1, 2, importance=0.9)
    assert [s.memory_id for s in informative_order([low, high])] == ["high", "low"]


BOOST = recipe_named("hybrid").window_boost
WINDOW = TimeRange(datetime(2024, 5, 8, 10, 2, tzinfo=UTC), datetime(2024, 5, 8, 10, 4, tzinfo=UTC), "x")
INSIDE, OUTSIDE = 2, 5  # minutes past 10:00 on May 8th


def leaned(scores: dict[str, tuple[float, int, dict[str, int]]]) -> list[str]:
    """``scores``: memory id -> (final score, minute said, retriever ranks), given in this order."""
    rows = {m: row(m, m, minute) for m, (_, minute, _) in scores.items()}
    order = [Scored(m, score, 0.0, ranks) for m, (score, _, ranks) in scores.items()]
    return [s.memory_id for s in window_lean(order, rows, WINDOW, BOOST)]


def test_the_window_boost_is_a_lean_not_a_filter() -> None:
    assert 1.0 < BOOST < 10.0


def test_an_in_window_topic_match_outranks_an_equal_one_from_outside() -> None:
    assert leaned({"out": (0.6, OUTSIDE, {"dense": 1}), "in": (0.6, INSIDE, {"dense": 2})}) == ["in", "out"]


def test_a_much_stronger_match_from_outside_still_ranks_in_the_top_ten() -> None:
    # Twelve topic matches inside the window: a filter would push the outside one to 13th.
    inside = {f"in{i}": (0.9 / BOOST - i / 1000, INSIDE, {"sparse": i + 2}) for i in range(12)}
    order = leaned({"out": (0.95, OUTSIDE, {"dense": 1}), **inside})
    assert order[0] == "out"
    # A weaker one from outside falls behind all of them.
    order = leaned({"out": (0.3, OUTSIDE, {"dense": 1}), **inside})
    assert order[-1] == "out"


def test_only_topic_matches_inside_the_window_are_boosted() -> None:
    # "listed" lies inside but only the temporal retriever listed it (every window memory is near the query
    # there): being in the window is no topic match. Equal scores keep the order given.
    order = leaned(
        {
            "out": (0.5, OUTSIDE, {"dense": 1}),
            "listed": (0.5, INSIDE, {"temporal": 1}),
            "match": (0.49, INSIDE, {"graph": 1, "temporal": 2}),
        }
    )
    assert order == ["match", "out", "listed"]


def test_said_order_is_time_then_log_position() -> None:
    rows = {r.memory_id: r for r in (row("z", "", 1, 9), row("y", "", 1, 3), row("x", "", 0, 50))}
    assert said_order(["z", "y", "x"], rows) == ["x", "y", "z"]


def test_context_keeps_the_most_informative_and_presents_them_as_said() -> None:
    words = {"a": "first said", "b": "second said", "c": "third said"}
    when = datetime(2024, 5, 8, tzinfo=UTC)
    ranked = [ContextItem(m, words[m], when) for m in ("c", "a", "b")]  # most informative first
    count = len  # characters as tokens: an exact, additive counter
    full = build_context(ranked, 1000, count, lambda text, n: text[:n], said_order=["a", "b", "c"])
    assert full.memory_ids == ("a", "b", "c")
    assert full.text.index("first said") < full.text.index("second said") < full.text.index("third said")
    # Room for two lines: the two most informative (c, a) are kept, shown as said (a before c).
    budget = len(build_context(ranked[:2], 1000, count, lambda text, n: text[:n]).text)
    tight = build_context(ranked, budget, count, lambda text, n: text[:n], said_order=["a", "b", "c"])
    assert tight.memory_ids == ("a", "c")
    assert tight.tokens <= budget and tight.omitted == 1
