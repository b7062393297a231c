"""The PostgreSQL projector and every lifecycle event, against the real PostgreSQL.

Each test projects a small scripted life (``lifecycle_log.Life``: deterministic ids and times) into a fresh
schema and checks three things: the rows are exactly what the event means; applying the log again changes
nothing (same positions: skipped by the checkpoint; the same events at new positions under a new projector
name: skipped by event id, tombstone or erasure record); and a batch leaves what its events applied one by
one leave. "Nothing changed" is checked with the whole-store digests ``replay verify`` compares, not only
with the scoped snapshot.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
import pytest

from memory.contract.events import Event, MemoryExtracted, UserErased
from memory.contract.positions import LogPosition
from memory.lifecycle.machine import MemoryState, can_transition
from memory.settings import Settings
from projections.base import PoisonEventError, Positioned
from projections.postgres.projector import PostgresProjector
from replay.snapshots import postgres_snapshot
from replay.stores import postgres_rows, postgres_turns
from replay.verify import compare
from tests.integration.lifecycle_log import MODEL, Life
from tests.support import create_schema, unique

TOPIC = "memstream.memories.v1"
TURNS = "memstream.turns.v1"
TABLES_WITH_MEMORY_IDS = {
    "memories": "memory_id = %(id)s",
    "memory_versions": "memory_id = %(id)s",
    "memory_accesses": "memory_id = %(id)s",
    "memory_lineage": "from_memory_id = %(id)s OR to_memory_id = %(id)s",
    "memory_tombstones": "memory_id = %(id)s",
}
ONLY_THE_TOMBSTONE = {table: int(table == "memory_tombstones") for table in TABLES_WITH_MEMORY_IDS}


def positioned(events: Sequence[Any], start: int) -> list[Positioned]:
    return [
        Positioned(e, LogPosition(TURNS if type(e).__name__ == "ConversationTurnReceived" else TOPIC, 0, start + i))
        for i, e in enumerate(events)
    ]


class Projection:
    """A projector on one schema that appends each batch at the next log positions."""

    def __init__(self, dsn: str, start: int = 0):
        self.dsn = dsn
        self.projector = PostgresProjector(dsn, (TOPIC, TURNS), name=unique("pg-"))
        self.offset = start

    def apply(self, events: Sequence[Event]) -> None:
        items = positioned(events, self.offset)
        self.offset += len(events)
        self.projector.apply_batch(items)


@dataclass
class Schemas:
    base: Settings
    made: list[str] = field(default_factory=list)

    def new(self) -> str:
        self.made.append(unique("life"))
        return create_schema(self.base.postgres_dsn, self.made[-1])

    def state(self, dsn: str, keys: Sequence[str]) -> dict[str, Any]:
        """The scoped snapshot and the whole-store digests ``replay verify`` compares."""
        target = replace(self.base, postgres_dsn=dsn)
        return {
            "snapshot": postgres_snapshot(dsn, keys),
            "store": postgres_rows(target),
            "turns": postgres_turns(target),
        }

    def idempotent(self, dsn: str, keys: Sequence[str], *batches: Sequence[Event]) -> dict[str, Any]:
        """Project the batches, then the whole log twice more; return the snapshot, the same all three times."""
        projection = Projection(dsn)
        for batch in batches:
            projection.apply(batch)
        once = self.state(dsn, keys)
        projection.offset = 0
        for batch in batches:
            projection.apply(batch)  # same positions: the checkpoint skips them
        assert self.state(dsn, keys) == once, "re-applied at the same positions"
        Projection(dsn, start=10_000).apply([e for batch in batches for e in batch])  # new name and positions
        assert self.state(dsn, keys) == once, "re-applied at new positions by a new projector"
        return once["snapshot"]

    def one_by_one_equals_batches(self, keys: Sequence[str], events: Sequence[Event]) -> dict[str, Any]:
        """The events as one batch, one at a time, and in uneven pieces: the same state every time."""
        whole = self.new()
        Projection(whole).apply(events)
        expected = self.state(whole, keys)
        for sizes in ([1], [3, 5, 2], [7]):
            dsn = self.new()
            projection = Projection(dsn)
            start, turn = 0, 0
            while start < len(events):
                size = sizes[turn % len(sizes)]
                projection.apply(events[start : start + size])
                start, turn = start + size, turn + 1
            assert self.state(dsn, keys) == expected, f"pieces of {sizes}"
        return expected["snapshot"]


@pytest.fixture
def schemas(stack_settings: Settings) -> Iterator[Schemas]:
    made = Schemas(stack_settings)
    yield made
    with psycopg.connect(stack_settings.postgres_dsn, autocommit=True) as conn:
        for name in made.made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def life() -> Life:
    return Life(unique("user-"))


def memory(snapshot: dict[str, Any], memory_id: str) -> dict[str, Any]:
    found = [m for m in snapshot["memories"] if m["memory_id"] == memory_id]
    assert len(found) == 1, f"{memory_id}: {len(found)} rows"
    return found[0]


def states(snapshot: dict[str, Any], life: Life, ks: Sequence[int]) -> list[str]:
    return [memory(snapshot, life.memory(k))["state"] for k in ks]


def history(dsn: str, memory_id: str) -> list[tuple[Any, ...]]:
    """What ``GET /v1/memories/{id}/history`` can read from memory_versions alone, in log order."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT event_type, state, text, importance, pinned, valid_to FROM memory_versions"
            " WHERE memory_id = %s ORDER BY log_offset",
            (memory_id,),
        ).fetchall()


def holdings(dsn: str, memory_id: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", {"id": memory_id}).fetchone()[0]  # type: ignore[index]
            for table, where in TABLES_WITH_MEMORY_IDS.items()
        }


def link(event: Event, relation: str, source: str, target: str) -> dict[str, Any]:
    env = event.envelope
    return {
        "event_id": env.event_id,
        "relation": relation,
        "from_memory_id": source,
        "to_memory_id": target,
        "occurred_at": env.occurred_at,
        "known_at": env.recorded_at,
    }


def ordered(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(links, key=lambda r: (r["relation"], r["from_memory_id"], r["to_memory_id"]))


# ── one event type at a time ──────────────────────────────────────────────────────────────────────────


def test_reinforced_sets_importance_and_links_the_dropped_copy(schemas: Schemas, life: Life) -> None:
    setup = [*life.active(0, "I live in Paris.", 0.5), life.extracted(1, "I live in Paris!", 0.25), life.embedded(1)]
    reinforce = life.reinforced(0, duplicate=1, importance=0.875)
    dsn = schemas.new()
    snap = schemas.idempotent(dsn, [life.key], setup, [reinforce])

    kept, copy = memory(snap, life.memory(0)), memory(snap, life.memory(1))
    activated_at = setup[2].envelope.recorded_at
    assert (kept["state"], kept["importance"], kept["updated_at"], kept["valid_to"]) == (
        "active",
        0.875,
        activated_at,  # importance is not a state change
        None,
    )
    assert (copy["state"], copy["importance"]) == ("stored", 0.25)
    assert snap["lineage"] == [link(reinforce, "reinforces", life.memory(1), life.memory(0))]
    text = "I live in Paris."
    assert history(dsn, life.memory(0)) == [
        ("MemoryExtracted", "extracted", text, 0.5, False, None),
        ("MemoryEmbedded", "stored", text, 0.5, False, None),
        ("MemoryActivated", "active", text, 0.5, False, None),
        ("MemoryReinforced", "active", text, 0.875, False, None),
    ]


def test_superseded_ends_validity_once_and_links_the_newer_statement(schemas: Schemas, life: Life) -> None:
    setup = [
        *life.active(0, "I live in Paris."),
        *life.active(1, "I live in Berlin."),
        *life.active(2, "I live in Rome."),
    ]
    first, second = life.superseded(0, by=1), life.superseded(0, by=2)
    dsn = schemas.new()
    snap = schemas.idempotent(dsn, [life.key], setup, [first], [second])

    old = memory(snap, life.memory(0))
    ended = first.envelope.occurred_at
    # Still active (it stays in the history, out of default search through valid_to), and a later
    # contradiction does not move the end of validity: it stopped being true when first contradicted.
    assert (old["state"], old["valid_to"], old["updated_at"]) == ("active", ended, setup[2].envelope.recorded_at)
    assert [memory(snap, life.memory(k))["valid_to"] for k in (1, 2)] == [None, None]
    assert snap["lineage"] == ordered(
        [
            link(first, "supersedes", life.memory(1), life.memory(0)),
            link(second, "supersedes", life.memory(2), life.memory(0)),
        ]
    )
    text = "I live in Paris."
    assert history(dsn, life.memory(0))[2:] == [
        ("MemoryActivated", "active", text, 0.5, False, None),
        ("MemorySuperseded", "active", text, 0.5, False, ended),
        ("MemorySuperseded", "active", text, 0.5, False, ended),
    ]


def test_consolidation_archive_recall_and_reactivation(schemas: Schemas, life: Life) -> None:
    setup = [
        *life.active(0, "I went hiking in the Alps."),
        *life.active(1, "I climbed the Eiger."),
        *life.active(2, "Alps trip: hiking and the Eiger.", 0.75),
    ]
    consolidated = life.consolidated(2, [0, 1])
    steps: list[tuple[list[Event], list[str]]] = [
        ([life.consolidating(0, 2), life.consolidating(1, 2)], ["consolidating", "consolidating", "active"]),
        ([consolidated], ["consolidating", "consolidating", "active"]),
        ([life.archived(0, 2), life.archived(1, 2)], ["archived", "archived", "active"]),
        ([life.recalled(0)], ["recalled", "archived", "active"]),
        ([life.activated(0)], ["active", "archived", "active"]),
    ]
    dsn = schemas.new()
    projection = Projection(dsn)
    projection.apply(setup)
    for batch, expected in steps:
        projection.apply(batch)
        assert states(postgres_snapshot(dsn, [life.key]), life, [0, 1, 2]) == expected, batch[0].envelope.event_type
    stepwise = postgres_snapshot(dsn, [life.key])

    again = schemas.new()
    assert schemas.idempotent(again, [life.key], setup, *(batch for batch, _ in steps)) == stepwise
    assert stepwise["lineage"] == ordered(
        [link(consolidated, "summarizes", life.memory(2), life.memory(k)) for k in (0, 1)]
    )
    assert memory(stepwise, life.memory(0))["updated_at"] == steps[-1][0][0].envelope.recorded_at
    assert memory(stepwise, life.memory(1))["updated_at"] == steps[2][0][1].envelope.recorded_at
    assert history(dsn, life.memory(2))[-1] == (
        "MemoryConsolidated",
        "active",
        "Alps trip: hiking and the Eiger.",
        0.75,
        False,
        None,
    )


ILLEGAL = [
    "archive active",
    "recall active",
    "consolidate extracted",
    "activate archived",
    "embed archived",
    "consolidating again",
    "decay consolidating",
    "rescue consolidating",
    "rescue consolidating, as old logs write it",
    "rescue stored",
]


def _illegal_case(life: Life, case: str) -> tuple[list[Event], Event, str]:
    """(what happened before, an event that asks for a transition the lifecycle refuses, the state it stays in)."""
    active = life.active(0, "I like tea.")
    consolidating = [*active, life.consolidating(0, 1)]
    archived = [*consolidating, life.archived(0, 1)]
    cases: dict[str, tuple[list[Event], Event, str]] = {
        "archive active": (active, life.archived(0, 1), "active"),
        "recall active": (active, life.recalled(0), "active"),
        "consolidate extracted": ([life.extracted(0, "I like tea.")], life.consolidating(0, 1), "extracted"),
        "activate archived": (archived, life.activated(0), "archived"),
        "embed archived": (archived, life.embedded(0), "archived"),
        "consolidating again": (consolidating, life.consolidating(0, 1), "consolidating"),
        "decay consolidating": (consolidating, life.decayed(0, 0.5, "decaying"), "consolidating"),
        # Active has other ways in; a rescue takes only Decaying → Active (memory.lifecycle.transitions.sources_for).
        "rescue consolidating": (consolidating, life.rescued(0, 0.5), "consolidating"),
        "rescue consolidating, as old logs write it": (consolidating, life.decayed(0, 0.5, "active"), "consolidating"),
        "rescue stored": ([life.extracted(0, "I like tea."), life.embedded(0)], life.rescued(0, 0.5), "stored"),
    }
    return cases[case]


@pytest.mark.parametrize("case", ILLEGAL)
def test_illegal_or_stale_transition_changes_nothing(schemas: Schemas, life: Life, case: str) -> None:
    before_events, event, stays = _illegal_case(life, case)
    dsn = schemas.new()
    projection = Projection(dsn)
    projection.apply(before_events)
    before = postgres_snapshot(dsn, [life.key])
    projection.apply([event])
    after = postgres_snapshot(dsn, [life.key])

    assert after["memories"] == before["memories"]  # state, updated_at, importance, model: all untouched
    assert memory(after, life.memory(0))["state"] == stays
    # The event is recorded as applied (so a redelivery is recognised), with the state it left: unchanged.
    added = [v for v in after["versions"] if v not in before["versions"]]
    assert [(v["event_id"], v["state"]) for v in added] == [(event.event_id, stays)]
    assert schemas.idempotent(schemas.new(), [life.key], before_events, [event]) == after


# The way back from Decaying: today's MemoryRescued, and the MemoryDecayed(state="active") that logs written
# before it carry (a memory log is replayed from offset 0 on a rebuild, so both must fold the same way).
WAYS_BACK = {
    "rescued": lambda life: life.rescued(0, 0.625),
    "decayed-active-in-old-logs": lambda life: life.decayed(0, 0.625, "active"),
}


@pytest.mark.parametrize("way_back", sorted(WAYS_BACK))
def test_decayed_sets_importance_and_moves_between_active_and_decaying(
    schemas: Schemas, life: Life, way_back: str
) -> None:
    setup = [
        *life.active(0, "I play chess.", 0.5),
        *life.active(1, "I play go.", 0.5),
        life.consolidating(1, 2),
        life.archived(1, 2),
    ]
    fading, lower = life.decayed(0, 0.25, "decaying"), life.decayed(0, 0.125)
    back = WAYS_BACK[way_back](life)
    stale = life.decayed(1, 0.25, "decaying")  # an archived memory cannot decay: importance yes, state no
    dsn = schemas.new()
    projection = Projection(dsn)
    projection.apply(setup)
    projection.apply([fading, lower])
    faded = memory(postgres_snapshot(dsn, [life.key]), life.memory(0))
    assert (faded["state"], faded["importance"], faded["updated_at"]) == (
        "decaying",
        0.125,
        fading.envelope.recorded_at,  # the importance-only decay is not a state change
    )

    snap = schemas.idempotent(schemas.new(), [life.key], setup, [fading, lower], [back, stale])
    recovered, archived = memory(snap, life.memory(0)), memory(snap, life.memory(1))
    assert (recovered["state"], recovered["importance"], recovered["updated_at"]) == (
        "active",
        0.625,
        back.envelope.recorded_at,
    )
    assert (archived["state"], archived["importance"], archived["updated_at"]) == (
        "archived",
        0.25,
        setup[-1].envelope.recorded_at,
    )
    assert [row[1:5:2] for row in history(dsn, life.memory(0))[-2:]] == [("decaying", 0.25), ("decaying", 0.125)]


def test_the_history_shows_every_state_of_the_machine_the_memory_passed_through(schemas: Schemas, life: Life) -> None:
    """What GET /v1/memories/{id}/history reads: one row per state change, so each state of the lifecycle
    drawn in the README that the memory passed through is in it, the rescue named as what happened. Only
    Forgotten is not: forgetting removes the memory's history with it (asserted in the whole-life test)."""
    events = [
        *life.active(0, "I play chess."),
        *life.active(1, "Chess, in short."),
        life.consolidating(0, 1),
        life.archived(0, 1),
        life.recalled(0),
        life.activated(0),
        life.decayed(0, 0.0625, "decaying"),
        life.accessed(0),  # not a state (memory.lifecycle.machine): a row in memory_accesses, not a version
        life.rescued(0, 0.5),
    ]
    rows = history_of(schemas, life, events)
    assert [(row[0], row[1]) for row in rows] == [
        ("MemoryExtracted", "extracted"),
        ("MemoryEmbedded", "stored"),
        ("MemoryActivated", "active"),
        ("MemoryConsolidating", "consolidating"),
        ("MemoryArchived", "archived"),
        ("MemoryRecalled", "recalled"),
        ("MemoryActivated", "active"),
        ("MemoryDecayed", "decaying"),
        ("MemoryRescued", "active"),
    ]
    assert {row[1] for row in rows} == {s.value for s in MemoryState} - {MemoryState.FORGOTTEN.value}
    assert all(can_transition(MemoryState(a[1]), MemoryState(b[1])) for a, b in itertools.pairwise(rows))
    assert rows[-1][3] == 0.5  # the importance the rescue re-evaluated


def test_decayed_to_an_unknown_state_is_poison_and_writes_nothing(schemas: Schemas, life: Life) -> None:
    setup = life.active(0, "I play chess.")
    dsn = schemas.new()
    projection = Projection(dsn)
    projection.apply(setup)
    before, checkpoints = schemas.state(dsn, [life.key]), projection.projector.checkpoints()

    with pytest.raises(PoisonEventError, match="sleeping"):
        projection.apply([life.pinned(0), life.decayed(0, 0.25, "sleeping")])
    assert schemas.state(dsn, [life.key]) == before  # not even the pin before it in the batch
    assert projection.projector.checkpoints() == checkpoints


def test_updated_replaces_the_text_and_the_full_text_index_follows(schemas: Schemas, life: Life) -> None:
    setup = life.active(0, "I drive a red car.")
    update = life.updated(0, "I ride a blue bicycle.")
    reembedded = life.embedded(0)  # the embedding agent embeds the corrected text again
    dsn = schemas.new()
    snap = schemas.idempotent(dsn, [life.key], setup, [update, reembedded])

    row = memory(snap, life.memory(0))
    assert (row["text"], row["state"], row["updated_at"], row["embedding_model"]) == (
        "I ride a blue bicycle.",
        "active",
        update.envelope.recorded_at,
        MODEL,
    )
    with psycopg.connect(dsn) as conn:
        found = {
            word: conn.execute(
                "SELECT memory_id FROM memories WHERE tsv @@ plainto_tsquery('english', %s)", (word,)
            ).fetchall()
            for word in ("bicycle", "car")
        }
    assert found == {"bicycle": [(life.memory(0),)], "car": []}
    assert [row[:3] for row in history(dsn, life.memory(0))] == [
        ("MemoryExtracted", "extracted", "I drive a red car."),
        ("MemoryEmbedded", "stored", "I drive a red car."),
        ("MemoryActivated", "active", "I drive a red car."),
        ("MemoryUpdated", "active", "I ride a blue bicycle."),
        ("MemoryEmbedded", "active", "I ride a blue bicycle."),
    ]


def test_pinned_and_unpinned(schemas: Schemas, life: Life) -> None:
    setup = life.active(0, "My passport expires in 2031.")
    pin, unpin = life.pinned(0, True), life.pinned(0, False)
    dsn = schemas.new()
    projection = Projection(dsn)
    projection.apply(setup)
    projection.apply([pin])
    pinned = memory(postgres_snapshot(dsn, [life.key]), life.memory(0))
    assert (pinned["pinned"], pinned["state"], pinned["updated_at"]) == (True, "active", setup[2].envelope.recorded_at)

    again = schemas.new()
    snap = schemas.idempotent(again, [life.key], setup, [pin], [unpin])
    unpinned = memory(snap, life.memory(0))
    assert (unpinned["pinned"], unpinned["updated_at"]) == (False, setup[2].envelope.recorded_at)
    assert [(row[0], row[1], row[4]) for row in history(again, life.memory(0))[2:]] == [
        ("MemoryActivated", "active", False),
        ("MemoryPinned", "active", True),
        ("MemoryPinned", "active", False),
    ]


def test_event_for_a_memory_not_held_yet_is_recorded_and_never_applied_late(schemas: Schemas, life: Life) -> None:
    pin = life.pinned(0)
    extract = life.extracted(0, "I collect stamps.")
    dsn = schemas.new()
    # The pin arrives first (its MemoryExtracted was delayed), then the memory, then the pin again.
    snap = schemas.idempotent(dsn, [life.key], [pin], [extract], [pin])

    row = memory(snap, life.memory(0))
    assert (row["pinned"], row["state"]) == (False, "extracted")
    assert history(dsn, life.memory(0)) == [
        ("MemoryPinned", "extracted", "", None, None, None),  # a placeholder: nothing was held to change
        ("MemoryExtracted", "extracted", "I collect stamps.", 0.5, False, None),
    ]


# ── deletion ──────────────────────────────────────────────────────────────────────────────────────────


def test_forgotten_leaves_only_a_tombstone_and_never_comes_back(schemas: Schemas, life: Life) -> None:
    text = "I live in Paris."
    setup = [
        *life.active(0, text),
        *life.active(1, "I live in Berlin."),
        life.extracted(2, "I live in Paris!"),
        life.embedded(2),
        *life.active(3, "Paris and the Alps, in short."),
        *life.active(4, "I hiked in the Alps."),
        life.reinforced(0, duplicate=2, importance=0.75),
        life.superseded(0, by=1),
        life.accessed(0),
        life.accessed(0, rank=2),
        life.accessed(4),
        life.pinned(0),
        life.consolidating(0, 3),
        life.consolidating(4, 3),
        life.consolidated(3, [0, 4]),
        life.archived(0, 3),  # archived, not decaying: a delete request may forget from any state
        life.archived(4, 3),
    ]
    forget = life.forgotten(0, "deleted")
    extracted = setup[0]
    assert isinstance(extracted, MemoryExtracted)
    rederived = replace(extracted, envelope=replace(extracted.envelope, event_id=unique("again-")))
    later = [
        extracted,  # redelivered as it was
        rederived,  # or extracted again under a new event id: same memory id
        life.activated(0),
        life.accessed(0),
        life.updated(0, text),
        life.reinforced(1, duplicate=0, importance=0.875),  # applies to 1, but links nothing to a forgotten id
        life.consolidated(3, [0, 4]),
        life.forgotten(0, "decayed"),  # forgetting again keeps the first tombstone
    ]
    dsn = schemas.new()
    snap = schemas.idempotent(dsn, [life.key], setup, [forget], later)

    forgotten = life.memory(0)
    assert holdings(dsn, forgotten) == ONLY_THE_TOMBSTONE
    assert snap["tombstones"] == [
        {
            "memory_id": forgotten,
            "app_id": "default",
            "user_id": life.scope.user_id,
            "forgotten_at": forget.envelope.occurred_at,
            "reason": "deleted",
        }
    ]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM memory_versions WHERE text = %s", (text,)).fetchone() == (0,)
    # The others keep their rows; only the links through the forgotten memory are gone.
    assert sorted(m["memory_id"] for m in snap["memories"]) == sorted(life.memory(k) for k in (1, 2, 3, 4))
    assert memory(snap, life.memory(1))["importance"] == 0.875
    assert memory(snap, life.memory(4))["state"] == "archived"
    assert snap["lineage"] == [link(setup[-3], "summarizes", life.memory(3), life.memory(4))]
    assert [row[0] for row in history(dsn, life.memory(4))] == [
        "MemoryExtracted",
        "MemoryEmbedded",
        "MemoryActivated",
        "MemoryConsolidating",
        "MemoryArchived",
    ]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT access_count FROM memories WHERE memory_id = %s", (life.memory(4),)).fetchone() == (
            1,
        )


def test_forgotten_in_the_batch_that_created_it(schemas: Schemas, life: Life) -> None:
    events: list[Event] = [
        *life.active(0, "My PIN is 1234."),
        life.accessed(0),
        life.pinned(0),
        *life.active(1, "I like tea."),
        life.reinforced(1, duplicate=0, importance=0.75),
        life.forgotten(0, "deleted"),
        life.extracted(0, "My PIN is 1234."),  # a new extraction under the same id: ignored
        life.accessed(0),
    ]
    snap = schemas.one_by_one_equals_batches([life.key], events)
    assert [m["memory_id"] for m in snap["memories"]] == [life.memory(1)]
    assert memory(snap, life.memory(1))["importance"] == 0.75
    assert snap["lineage"] == []
    assert [t["memory_id"] for t in snap["tombstones"]] == [life.memory(0)]
    dsn = schemas.new()
    schemas.idempotent(dsn, [life.key], events)
    assert holdings(dsn, life.memory(0)) == ONLY_THE_TOMBSTONE


def test_user_erased_removes_everything_of_that_user_only_and_later_events_apply(schemas: Schemas, life: Life) -> None:
    other = Life(unique("user-"))
    same_user_other_app = Life(life.scope.user_id, app_id="other-app")
    forget_before = life.forgotten(2)  # a tombstone from before: it keeps its own reason
    their_link = other.reinforced(0, duplicate=1, importance=0.75)
    setup: list[Event] = [
        life.turn("I live in Paris and I love tea."),
        *life.active(0, "I live in Paris."),
        *life.active(1, "I love tea."),
        life.accessed(0),
        life.superseded(1, by=0),
        forget_before,
        other.turn("I live in Oslo."),
        *other.active(0, "I live in Oslo."),
        *other.active(1, "I moved to Oslo."),
        other.accessed(0),
        their_link,
        same_user_other_app.turn("I live in Rome."),
        *same_user_other_app.active(0, "I live in Rome."),
    ]
    erase = life.erased()
    back = life.turn("I am back, I live in Lisbon now.")
    old_extraction = setup[1]
    erasure_batch: list[Event] = [
        life.pinned(0),  # before the erasure in the same batch: erased with the rest
        other.pinned(0),
        erase,
        back,  # after it: applies
        *life.active(5, "I live in Lisbon."),
        old_extraction,  # redelivered from before the erasure: stays erased
        other.pinned(1),
    ]
    bystanders = [other.key, same_user_other_app.key]
    dsn = schemas.new()
    projection = Projection(dsn)
    projection.apply(setup)
    untouched = postgres_snapshot(dsn, [same_user_other_app.key])
    projection.apply(erasure_batch)

    snap = postgres_snapshot(dsn, [life.key])
    assert [m["memory_id"] for m in snap["memories"]] == [life.memory(5)]
    assert {v["memory_id"] for v in snap["versions"]} == {life.memory(5)}
    assert snap["lineage"] == []
    assert [t["turn_id"] for t in snap["turns"]] == [back.turn_id]
    assert sorted((t["memory_id"], t["reason"], t["forgotten_at"]) for t in snap["tombstones"]) == sorted(
        [
            (life.memory(0), "user erased", erase.envelope.occurred_at),
            (life.memory(1), "user erased", erase.envelope.occurred_at),
            (life.memory(2), "deleted", forget_before.envelope.occurred_at),
        ]
    )
    assert snap["erasures"] == [
        {
            "event_id": erase.event_id,
            "app_id": "default",
            "user_id": life.scope.user_id,
            "erased_at": erase.envelope.occurred_at,
            "known_at": erase.envelope.recorded_at,
        }
    ]
    for k in (0, 1):
        assert holdings(dsn, life.memory(k)) == ONLY_THE_TOMBSTONE
    with psycopg.connect(dsn) as conn:
        accesses = conn.execute("SELECT memory_id FROM memory_accesses ORDER BY memory_id").fetchall()
    assert accesses == [(other.memory(0),)]

    # The other user of the app and the same user id in another app: untouched by the erasure, while
    # their events on both sides of it in the same batch applied.
    assert postgres_snapshot(dsn, [same_user_other_app.key]) == untouched
    them = postgres_snapshot(dsn, [other.key])
    assert sorted((m["memory_id"], m["pinned"], m["importance"]) for m in them["memories"]) == sorted(
        [(other.memory(0), True, 0.75), (other.memory(1), True, 0.5)]
    )
    assert them["lineage"] == [link(their_link, "reinforces", other.memory(1), other.memory(0))]
    assert len(them["turns"]) == 1

    keys = [life.key, *bystanders]
    assert schemas.idempotent(schemas.new(), keys, setup, erasure_batch) == postgres_snapshot(dsn, keys)
    assert schemas.one_by_one_equals_batches(keys, [*setup, *erasure_batch]) == postgres_snapshot(dsn, keys)


def test_each_erasure_applies_once_even_inside_one_batch(schemas: Schemas, life: Life) -> None:
    erase, later_erase = life.erased(), life.erased()
    events: list[Event] = [
        *life.active(0, "I like tea."),
        erase,
        *life.active(5, "I like coffee."),
        erase,  # the same erasure again: it must not take the coffee with it
        *life.active(6, "I like cocoa."),
        later_erase,  # a new request: it does
        *life.active(7, "I like juice."),
    ]
    assert all(isinstance(e, UserErased) for e in (erase, later_erase))
    snap = schemas.one_by_one_equals_batches([life.key], events)
    assert [m["memory_id"] for m in snap["memories"]] == [life.memory(7)]
    assert sorted((t["memory_id"], t["forgotten_at"]) for t in snap["tombstones"]) == sorted(
        [
            (life.memory(0), erase.envelope.occurred_at),
            (life.memory(5), later_erase.envelope.occurred_at),
            (life.memory(6), later_erase.envelope.occurred_at),
        ]
    )
    assert [e["event_id"] for e in snap["erasures"]] == sorted([erase.event_id, later_erase.event_id])
    schemas.idempotent(schemas.new(), [life.key], events)


def test_a_turn_said_before_the_erasure_stays_erased_when_its_topic_lags(schemas: Schemas, life: Life) -> None:
    """No order holds between the turns topic and the memories topic: a turn said before the erasure may be
    consumed after it, live or in a rebuild. Either way it is not stored; a turn said after it is."""
    said = life.turn("My address is 1 Main Street.")
    extracted = life.extracted(0, "My address is 1 Main Street.")
    erase = life.erased()
    back = life.turn("I am back.")
    after = life.active(1, "I live in Lisbon.")
    prompt, lagging = schemas.new(), schemas.new()
    orders: list[tuple[str, list[list[Event]]]] = [
        (prompt, [[said, extracted], [erase], [back, *after]]),
        (lagging, [[extracted, erase], [said, back, *after]]),
    ]
    for dsn, batches in orders:
        projection = Projection(dsn)
        for batch in batches:
            projection.apply(batch)
    assert schemas.state(lagging, [life.key]) == schemas.state(prompt, [life.key])

    snap = schemas.idempotent(schemas.new(), [life.key], [extracted, erase], [said, back, *after])
    assert [t["turn_id"] for t in snap["turns"]] == [back.turn_id]
    assert [m["memory_id"] for m in snap["memories"]] == [life.memory(1)]
    assert [(t["memory_id"], t["reason"]) for t in snap["tombstones"]] == [(life.memory(0), "user erased")]


# ── a whole life ──────────────────────────────────────────────────────────────────────────────────────


def whole_life(life: Life) -> tuple[list[Event], dict[str, Event]]:
    """Memory 0's life from extraction to decay, with a copy (2), a contradiction (3) and a summary (4)
    around it, and memory 1 pinned and corrected; then a forgotten copy and finally memory 0 forgotten."""
    named: dict[str, Event] = {
        "reinforced": life.reinforced(0, duplicate=2, importance=0.75),
        "superseded": life.superseded(0, by=3),
        "consolidated": life.consolidated(4, [0]),
        "updated": life.updated(1, "I love green tea."),
        "decayed": life.decayed(0, 0.25, "decaying"),
        "decayed 1": life.decayed(1, 0.375),
        "forgotten 2": life.forgotten(2, "deleted"),
        "forgotten 0": life.forgotten(0, "decayed"),
    }
    events: list[Event] = [
        life.turn("I live in Paris and I love tea."),
        *life.active(0, "I live in Paris."),
        *life.active(1, "I love tea."),
        life.extracted(2, "I live in Paris!"),
        life.embedded(2),
        named["reinforced"],
        life.accessed(0),
        life.accessed(1, rank=2),
        *life.active(3, "I live in Berlin."),
        named["superseded"],
        life.pinned(1),
        named["updated"],
        life.embedded(1),
        *life.active(4, "Paris, in short.", 0.75),
        life.consolidating(0, 4),
        named["consolidated"],
        life.archived(0, 4),
        life.recalled(0),
        life.activated(0),
        named["decayed"],
        named["decayed 1"],
        named["forgotten 2"],
        named["forgotten 0"],
    ]
    return events, named


def test_a_whole_life_in_one_batch_equals_it_one_event_at_a_time(schemas: Schemas, life: Life) -> None:
    events, named = whole_life(life)
    before_forgetting = events[:-2]
    snap = schemas.one_by_one_equals_batches([life.key], before_forgetting)

    ended = named["superseded"].envelope.occurred_at
    main = memory(snap, life.memory(0))
    assert {k: main[k] for k in ("state", "importance", "pinned", "valid_to", "text", "updated_at")} == {
        "state": "decaying",
        "importance": 0.25,
        "pinned": False,
        "valid_to": ended,
        "text": "I live in Paris.",
        "updated_at": named["decayed"].envelope.recorded_at,
    }
    tea = memory(snap, life.memory(1))
    assert {k: tea[k] for k in ("state", "importance", "pinned", "text", "updated_at", "embedding_model")} == {
        "state": "active",
        "importance": 0.375,
        "pinned": True,
        "text": "I love green tea.",
        "updated_at": named["updated"].envelope.recorded_at,
        "embedding_model": MODEL,
    }
    assert snap["lineage"] == ordered(
        [
            link(named["reinforced"], "reinforces", life.memory(2), life.memory(0)),
            link(named["superseded"], "supersedes", life.memory(3), life.memory(0)),
            link(named["consolidated"], "summarizes", life.memory(4), life.memory(0)),
        ]
    )
    rows = history_of(schemas, life, before_forgetting)
    assert [(row[0], row[1], row[3], row[5]) for row in rows] == [
        ("MemoryExtracted", "extracted", 0.5, None),
        ("MemoryEmbedded", "stored", 0.5, None),
        ("MemoryActivated", "active", 0.5, None),
        ("MemoryReinforced", "active", 0.75, None),
        ("MemorySuperseded", "active", 0.75, ended),
        ("MemoryConsolidating", "consolidating", 0.75, ended),
        ("MemoryArchived", "archived", 0.75, ended),
        ("MemoryRecalled", "recalled", 0.75, ended),
        ("MemoryActivated", "active", 0.75, ended),
        ("MemoryDecayed", "decaying", 0.25, ended),
    ]
    assert {(row[2], row[4]) for row in rows} == {("I live in Paris.", False)}

    # And its end: forgotten from decaying, the lifecycle's own way out, with the copy forgotten before it.
    final = schemas.one_by_one_equals_batches([life.key], events)
    assert schemas.idempotent(schemas.new(), [life.key], events) == final
    assert sorted(m["memory_id"] for m in final["memories"]) == sorted(life.memory(k) for k in (1, 3, 4))
    assert final["lineage"] == []
    assert sorted((t["memory_id"], t["reason"]) for t in final["tombstones"]) == sorted(
        [(life.memory(0), "decayed"), (life.memory(2), "deleted")]
    )
    assert {v["memory_id"] for v in final["versions"]} == {life.memory(k) for k in (1, 3, 4)}


def history_of(schemas: Schemas, life: Life, events: Sequence[Event]) -> list[tuple[Any, ...]]:
    dsn = schemas.new()
    Projection(dsn).apply(events)
    return history(dsn, life.memory(0))


def test_a_shuffled_life_in_one_batch_equals_it_one_event_at_a_time(schemas: Schemas, life: Life) -> None:
    """Out of log order the outcome is odd (an activation before its extraction is lost), but a batch must
    still decide exactly what the same events one at a time decide."""
    events, _ = whole_life(life)
    for seed in (1, 2):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        schemas.one_by_one_equals_batches([life.key], shuffled)


# ── replay verify and schema upgrades ─────────────────────────────────────────────────────────────────


def test_verify_names_every_lifecycle_difference(schemas: Schemas, life: Life) -> None:
    events, named = whole_life(life)
    events = [e for e in events if e is not named["forgotten 0"]]
    live, rebuilt = schemas.new(), schemas.new()
    Projection(live).apply(events)
    for offset, event in enumerate(events):  # one event per call, each by a new projector
        Projection(rebuilt, start=offset).apply([event])
    left, right = (postgres_rows(replace(schemas.base, postgres_dsn=dsn)) for dsn in (live, rebuilt))
    assert compare(left, right, "postgres").equal
    assert f"tombstone/{life.memory(2)}" in left

    with psycopg.connect(rebuilt) as conn:
        conn.execute("UPDATE memories SET pinned = false WHERE memory_id = %s", (life.memory(1),))
        conn.execute("UPDATE memory_versions SET importance = 0.5 WHERE event_id = %s", (named["decayed"].event_id,))
        conn.execute(
            "UPDATE memory_lineage SET known_at = known_at + interval '1 second' WHERE relation = 'supersedes'"
        )
        conn.execute("DELETE FROM memory_tombstones")
    diff = compare(left, postgres_rows(replace(schemas.base, postgres_dsn=rebuilt)), "postgres")
    assert diff.different == sorted(
        [life.memory(1), life.memory(0), f"lineage/supersedes/{life.memory(3)}/{life.memory(0)}"]
    )
    assert diff.only_left == [f"tombstone/{life.memory(2)}"]
    assert diff.only_right == []


def test_an_existing_schema_gains_the_lifecycle_columns_and_tables(schemas: Schemas, life: Life) -> None:
    dsn = schemas.new()
    Projection(dsn).apply(life.active(0, "I like tea."))
    with psycopg.connect(dsn) as conn:  # back to the schema as it was before the lifecycle events
        conn.execute("ALTER TABLE memories DROP COLUMN pinned")
        conn.execute("ALTER TABLE memory_versions DROP COLUMN importance, DROP COLUMN pinned")
        conn.execute("DROP TABLE memory_lineage, memory_tombstones, user_erasures")

    projection = Projection(dsn, start=100)
    superseded = life.superseded(0, by=1)
    projection.apply([*life.active(1, "I like coffee."), life.pinned(1), superseded])
    snap = postgres_snapshot(dsn, [life.key])
    assert sorted((m["memory_id"], m["pinned"], m["valid_to"]) for m in snap["memories"]) == sorted(
        [(life.memory(0), False, superseded.envelope.occurred_at), (life.memory(1), True, None)]
    )
    # Rows written before the upgrade have no after-values; every new one has them.
    assert [row[3:5] for row in history(dsn, life.memory(0))] == [(None, None)] * 3 + [(0.5, False)]
    assert [(r["relation"], r["from_memory_id"], r["to_memory_id"]) for r in snap["lineage"]] == [
        ("supersedes", life.memory(1), life.memory(0))
    ]
