"""The Neo4j projection's plan folds one memory's consecutive updates into one row: that row must leave every
state and property exactly where the events, one guarded update at a time, would have left them.

Pure: the guarded update is modelled here the way ``UPDATE_MEMORIES`` runs it (``SET m += props``, then the
state the moves map names for the memory's state, if any); the integration tests run the same rows in Neo4j.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from memory.contract.events import (
    EntitiesLinked,
    Envelope,
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryArchived,
    MemoryConsolidating,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryPinned,
    MemoryRecalled,
    MemoryReinforced,
    MemoryRescued,
    MemoryUpdated,
    Producer,
    Scope,
)
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.transitions import moves, target_state
from projections.neo4j import plan

SCOPE = Scope("app", "plan-user")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def envelope(kind: str, n: int) -> Envelope:
    at = T0 + timedelta(seconds=n)
    return Envelope(f"e{n}", kind, 1, SCOPE, at, at, None, f"e{n}", Producer("tests"))


def update_event(rng: random.Random, memory_id: str, n: int) -> Event:
    """One of the events that become UPDATE rows, with random fields."""
    kind, fields = rng.choice(
        [
            (MemoryEmbedded, (f"model-{n % 3}", (0.1, 0.2))),
            (MemoryActivated, ()),
            (MemoryReinforced, ("dup", 0.9, round(rng.random(), 3))),
            (MemoryDecayed, (round(rng.random(), 3), rng.choice([None, "decaying", "active"]))),
            (MemoryRescued, (round(rng.random(), 3),)),
            (MemoryPinned, (rng.random() < 0.5,)),
            (MemoryConsolidating, ("summary",)),
            (MemoryArchived, ("summary",)),
            (MemoryRecalled, ("request",)),
            (MemoryAccessed, (1, ("vector",), "request")),
        ]
    )
    event: Event = kind(envelope(kind.__name__, n), memory_id, *fields)
    return event


def one_at_a_time(events: list[Event], graph: dict[str, dict[str, Any]]) -> None:
    """The reference: each event's own guarded update, in log order."""
    for event in events:
        row = plan.row_of(event)
        if row is None:
            continue
        node = graph[row.values["memory_id"]]
        node.update(row.values["props"])
        target = target_state(event)
        known = node["state"] in {s.value for s in MemoryState}  # no move starts from a state outside the table
        if target is not None and known and moves(event, MemoryState(node["state"]), target):
            node["state"] = target.value


def as_planned(events: list[Event], graph: dict[str, dict[str, Any]]) -> None:
    """The plan's groups, each row run as UPDATE_MEMORIES runs it."""
    for step in plan.steps(events):
        assert not isinstance(step, plan.Deletes)
        for kind, rows in step:
            assert kind == plan.UPDATE
            assert len({r["memory_id"] for r in rows}) == len(rows), "a memory twice in one statement"
            for row in rows:
                node = graph[row["memory_id"]]
                node.update(row["props"])
                following = row["moves"].get(node["state"])
                if following is not None:
                    node["state"] = following


@pytest.mark.parametrize("seed", range(200))
def test_folded_updates_leave_what_one_at_a_time_leaves(seed: int) -> None:
    rng = random.Random(seed)
    memory_ids = [f"m{i}" for i in range(rng.randint(1, 4))]
    events = [update_event(rng, rng.choice(memory_ids), n) for n in range(rng.randint(1, 30))]
    for start in [*(s.value for s in MemoryState), "unknown-state"]:
        reference = {m: {"state": start} for m in memory_ids}
        planned = {m: {"state": start} for m in memory_ids}
        one_at_a_time(events, reference)
        as_planned(events, planned)
        assert planned == reference, f"from {start}: {[type(e).__name__ for e in events]}"


def test_a_whole_memory_log_is_three_statements_however_many_memories() -> None:
    events: list[Event] = []
    for i in range(50):
        memory_id = f"m{i}"
        events += [
            MemoryExtracted(envelope("MemoryExtracted", 4 * i), memory_id, f"Alex likes jazz {i}"),
            EntitiesLinked(envelope("EntitiesLinked", 4 * i + 1), memory_id, (), ()),
            MemoryEmbedded(envelope("MemoryEmbedded", 4 * i + 2), memory_id, "model", (0.1,)),
            MemoryActivated(envelope("MemoryActivated", 4 * i + 3), memory_id),
        ]
    [groups] = plan.steps(events)
    assert isinstance(groups, list)
    assert [(kind, len(rows)) for kind, rows in groups] == [(plan.MEMORY, 50), (plan.ENTITIES, 50), (plan.UPDATE, 50)]
    update = groups[2][1][0]
    assert update["props"] == {"embedding_model": "model"}
    # Embedded then Activated: an extracted memory ends active in one step (as it would through stored).
    assert update["moves"]["extracted"] == update["moves"]["stored"] == "active"
    assert "archived" not in update["moves"]


def test_an_update_after_another_kind_of_row_is_not_folded_across_it() -> None:
    """A text update between two state updates of a memory keeps them apart: the fold never skips a row."""
    events: list[Event] = [
        MemoryEmbedded(envelope("MemoryEmbedded", 1), "m", "model", (0.1,)),
        MemoryUpdated(envelope("MemoryUpdated", 2), "m", "new text"),
        MemoryActivated(envelope("MemoryActivated", 3), "m"),
    ]
    [groups] = plan.steps(events)
    assert isinstance(groups, list)
    assert [kind for kind, _ in groups] == [plan.UPDATE, plan.UPDATED, plan.UPDATE]
