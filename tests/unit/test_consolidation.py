from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from memory.contract.ids import NAMESPACE
from memory.lifecycle.consolidation import (
    ActiveMemory,
    ConsolidationPlan,
    Trigger,
    consolidation_triggers,
    offline_summary,
    plan_consolidation,
    summary_memory_id_for,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=100)
AGE = timedelta(days=30)
BUDGET = 1_000
OLD_DAY = 10  # day offsets below 70 are older than AGE at NOW
SPEAKER = "entity-caroline"


def mem(
    memory_id: str,
    day: float,
    entities: tuple[str, ...] = (),
    *,
    tokens: int = 10,
    pinned: bool = False,
    conversation: str = "",
    importance: float = 0.5,
    text: str | None = None,
) -> ActiveMemory:
    """A memory on its own day and conversation unless told otherwise, spoken by Caroline."""
    return ActiveMemory(
        memory_id=memory_id,
        text=text or f"Caroline: fact {memory_id}.",
        importance=importance,
        occurred_at=T0 + timedelta(days=day),
        tokens=tokens,
        entity_ids=frozenset({SPEAKER, *entities}),
        pinned=pinned,
        conversation_id=conversation,
        speaker_entity_id=SPEAKER,
    )


def plan(memories: list[ActiveMemory], **kwargs: int) -> list[ConsolidationPlan]:
    return plan_consolidation(memories, NOW, AGE, kwargs.pop("budget", BUDGET), **kwargs)


def ids(plans: list[ConsolidationPlan]) -> list[tuple[str, ...]]:
    return [p.memory_ids for p in plans]


# --- trigger -----------------------------------------------------------------------------------------


def test_neither_trigger_plans_nothing() -> None:
    young = [mem("a", 80, ("x",)), mem("b", 81, ("x",))]
    assert consolidation_triggers(young, NOW, AGE, BUDGET) == frozenset()
    assert plan(young) == []


def test_age_is_strictly_older_than_the_threshold() -> None:
    exactly = [mem("a", 70, ("x",)), mem("b", 70, ("x",))]
    assert consolidation_triggers(exactly, NOW, AGE, BUDGET) == frozenset()
    older = [mem("a", 70 - 1 / 86_400, ("x",)), mem("b", 69, ("x",))]
    assert consolidation_triggers(older, NOW, AGE, BUDGET) == {Trigger.AGE}
    assert ids(plan(older)) == [("b", "a")]


def test_budget_is_strictly_above_the_total() -> None:
    at = [mem("a", 80, tokens=600), mem("b", 81, tokens=400)]
    assert consolidation_triggers(at, NOW, AGE, BUDGET) == frozenset()
    above = [mem("a", 80, tokens=600), mem("b", 81, tokens=401)]
    assert consolidation_triggers(above, NOW, AGE, BUDGET) == {Trigger.BUDGET}


def test_age_or_budget_or_both() -> None:
    both = [mem("a", 5, ("x",), tokens=900), mem("b", 6, ("x",), tokens=200)]
    assert consolidation_triggers(both, NOW, AGE, BUDGET) == {Trigger.AGE, Trigger.BUDGET}
    assert plan(both)[0].triggers == {Trigger.AGE, Trigger.BUDGET}


def test_an_old_pinned_memory_alone_does_not_trigger() -> None:
    memories = [mem("p", 1, ("x",), pinned=True), mem("a", 90, ("x",))]
    assert consolidation_triggers(memories, NOW, AGE, BUDGET) == frozenset()


# --- grouping ----------------------------------------------------------------------------------------


def test_old_memories_group_by_shared_entity_and_young_ones_stay() -> None:
    memories = [
        mem("a", 1, ("paris",)),
        mem("b", 2, ("paris",)),
        mem("c", 3, ("tennis",)),
        mem("d", 4, ("tennis",)),
        mem("e", 5, ("berlin",)),  # nothing related: stays active
        mem("f", 90, ("paris",)),  # related but young: stays active
    ]
    assert ids(plan(memories)) == [("a", "b"), ("c", "d")]


def test_the_speaker_is_not_a_link() -> None:
    memories = [mem("a", 1), mem("b", 2), mem("c", 3)]  # they share only Caroline
    assert plan(memories) == []


def test_any_speaker_of_the_group_is_not_a_link() -> None:
    # Melanie mentions Caroline; that does not tie Melanie's fact to Caroline's.
    melanie = ActiveMemory(
        "m",
        "Melanie: I saw Caroline.",
        0.5,
        T0 + timedelta(days=2),
        10,
        frozenset({"entity-melanie", SPEAKER}),
        speaker_entity_id="entity-melanie",
    )
    assert plan([mem("a", 1), melanie]) == []


def test_same_conversation_links() -> None:
    memories = [mem("a", 1, conversation="c1"), mem("b", 5, conversation="c1"), mem("c", 9, conversation="c2")]
    assert ids(plan(memories)) == [("a", "b")]


def test_same_utc_day_links_whatever_the_local_date() -> None:
    paris_late = ActiveMemory(
        "late", "Caroline: late.", 0.5, datetime(2026, 1, 3, 0, 30, tzinfo=timezone(timedelta(hours=2))), 10
    )  # 2026-01-02 22:30 UTC
    morning = ActiveMemory("morning", "Caroline: early.", 0.5, datetime(2026, 1, 2, 8, 0, tzinfo=UTC), 10)
    next_day = ActiveMemory("next", "Caroline: next.", 0.5, datetime(2026, 1, 3, 8, 0, tzinfo=UTC), 10)
    assert ids(plan([next_day, paris_late, morning])) == [("morning", "late")]


def test_links_are_followed_through_members_oldest_first() -> None:
    # b is linked to a only through c; with room for three the group takes all of them.
    memories = [mem("a", 1, ("x",)), mem("b", 2, ("y",)), mem("c", 3, ("x", "y")), mem("d", 4, ("y",))]
    assert ids(plan(memories, max_group_size=3)) == [("a", "b", "c")]
    # With room for two: a takes its oldest relation, c; then b and d (linked by y) pair up.
    assert ids(plan(memories, max_group_size=2)) == [("a", "c"), ("b", "d")]


def test_groups_are_capped_and_a_lone_remainder_stays() -> None:
    nine = [mem(f"m{i}", i, ("x",)) for i in range(9)]
    assert ids(plan(nine, max_group_size=4)) == [
        ("m0", "m1", "m2", "m3"),
        ("m4", "m5", "m6", "m7"),
    ]
    ten = [mem(f"m{i}", i, ("x",)) for i in range(10)]
    assert ids(plan(ten, max_group_size=4))[-1] == ("m8", "m9")


def test_default_group_size_is_eight() -> None:
    many = [mem(f"m{i:02}", i, ("x",)) for i in range(20)]
    assert [len(p.members) for p in plan(many)] == [8, 8, 4]


def test_pinned_memories_are_never_consolidated() -> None:
    memories = [mem("a", 1, ("x",)), mem("p", 2, ("x",), pinned=True), mem("b", 3, ("x",)), mem("q", 4, pinned=True)]
    plans = plan(memories)
    assert ids(plans) == [("a", "b")]
    # Not even when pinned memories alone blow the budget.
    heavy = [mem("p", 1, ("x",), pinned=True, tokens=5_000), mem("q", 2, ("x",), pinned=True, tokens=5_000)]
    assert consolidation_triggers(heavy, NOW, AGE, BUDGET) == {Trigger.BUDGET}
    assert plan(heavy) == []


def test_over_budget_consolidates_the_oldest_down_to_the_low_watermark() -> None:
    # Twelve young memories of 100 tokens: 1,200 > 1,000. Down to 800 means the four oldest go.
    young = [mem(f"m{i:02}", 71 + i, ("x",), tokens=100) for i in range(12)]
    assert ids(plan(young)) == [("m00", "m01", "m02", "m03")]


def test_pinned_tokens_count_towards_the_budget() -> None:
    memories = [mem("p", 80, pinned=True, tokens=900), mem("a", 81, ("x",), tokens=60), mem("b", 82, ("x",), tokens=60)]
    assert ids(plan(memories)) == [("a", "b")]


# --- the plan ----------------------------------------------------------------------------------------


def test_plan_fields() -> None:
    memories = [mem("b", 2, ("x",), importance=0.8, tokens=7), mem("a", 1, ("x",), importance=0.3, tokens=5)]
    (only,) = plan(memories)
    assert only.memory_ids == ("a", "b")
    assert only.importance == 0.8
    assert only.occurred_at == T0 + timedelta(days=2)
    assert only.tokens == 12
    assert only.triggers == {Trigger.AGE}
    assert only.summary_memory_id == str(uuid.uuid5(NAMESPACE, "summary\x1fa\x1fb"))


def test_summary_id_depends_only_on_the_set_of_originals() -> None:
    assert summary_memory_id_for(["b", "a", "c"]) == summary_memory_id_for(["c", "b", "a"])
    assert summary_memory_id_for(["a", "b"]) != summary_memory_id_for(["a", "b", "c"])
    assert uuid.UUID(summary_memory_id_for(["a", "b"])).version == 5


def test_a_timer_firing_twice_or_reading_in_another_order_plans_the_same() -> None:
    memories = [
        mem(f"m{i:02}", i, (f"topic{i % 3}",), conversation=f"c{i % 4}", importance=i / 20, tokens=40)
        for i in range(20)
    ]
    first = plan(memories)
    assert first == plan(memories)
    shuffled = memories[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert plan(shuffled) == first
    assert len(first) >= 2


def test_every_memory_is_in_at_most_one_plan() -> None:
    memories = [mem(f"m{i:02}", i, (f"t{i % 2}", f"u{i % 5}")) for i in range(30)]
    planned = [memory_id for p in plan(memories) for memory_id in p.memory_ids]
    assert len(planned) == len(set(planned))


def test_the_offline_summary_of_a_plan() -> None:
    memories = [
        mem("a", 1, ("x",), text="Caroline: I adopted a dog named Max.", importance=0.6),
        mem("b", 2, ("x",), text="Caroline: Max loves the beach.", importance=0.4),
    ]
    (only,) = plan(memories)
    assert offline_summary(only) == "Caroline: I adopted a dog named Max. Max loves the beach."


@pytest.mark.parametrize(
    ("memories", "kwargs", "message"),
    [
        ([mem("a", 1), mem("a", 2)], {}, "twice"),
        ([mem("a", 1)], {"budget": 0}, "token_budget"),
        ([mem("a", 1)], {"max_group_size": 1}, "max_group_size"),
    ],
)
def test_bad_input_is_refused(memories: list[ActiveMemory], kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan(memories, **kwargs)


def test_negative_age_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="age_threshold"):
        plan_consolidation([mem("a", 1)], NOW, timedelta(days=-1), BUDGET)
