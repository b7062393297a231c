"""PostgreSQL projection: current memories, their versions, the conversation log, checkpoints.

Rows and the checkpoint commit in one transaction, so a crash can never leave one without the other.
Duplicates are caught twice over: positions at or below the checkpoint are skipped, and every memory
event is recorded as a version row keyed by ``event_id`` — if that row exists the event was applied.

A batch costs a handful of statements, not several per event (a rebuild replays the whole log): under a
per-schema advisory lock, one query reads what the batch touches (applied event ids, current memories);
the events are then folded in log order in memory — the same guarded lifecycle as one statement per event
would give — and the outcome is written with COPY (new turns, versions, memories) and one UPDATE (memories
that existed before the batch). The lock makes read-decide-write safe against a second projector writing
the same schema at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from memory.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    MemoryAccessed,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
)
from memory.lifecycle import MemoryState, can_transition
from projections.base import Positioned, highest_positions, newer_than_checkpoint

SCHEMA_SQL = (Path(__file__).parent / "schema.sql").read_text()

# Serialises writers of one schema's tables (the key is per schema, so rebuilds beside it never wait).
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('memstream.projection.postgres/' || current_schema(), 0))"
# A batch looks up at most a batch's worth of keys, always by primary key. A rebuild grows the tables faster
# than autovacuum analyzes them, and without statistics the planner scans whole tables for those keys: a
# rebuild would slow down as it goes (quadratic). For this transaction only, index lookups it is.
INDEX_LOOKUPS = "SET LOCAL enable_seqscan = off"

READ_STATE = """
SELECT 'v', event_id, NULL, NULL, NULL FROM memory_versions WHERE event_id = ANY(%(versions)s::text[])
UNION ALL
SELECT 't', event_id, NULL, NULL, NULL FROM conversation_turns WHERE event_id = ANY(%(turns)s::text[])
UNION ALL
SELECT 'a', event_id, NULL, NULL, NULL FROM memory_accesses WHERE event_id = ANY(%(accesses)s::text[])
UNION ALL
SELECT 'm', memory_id, text, state, embedding_model FROM memories WHERE memory_id = ANY(%(memories)s::text[])
"""

ACCESS_COLUMNS = "event_id, memory_id, accessed_at, rank, retrievers, request_id"
# Counted from the rows this batch inserted, so the count is exactly the number of distinct access events.
COUNT_ACCESSES = """
UPDATE memories AS m
SET access_count = m.access_count + a.n, last_accessed_at = GREATEST(m.last_accessed_at, a.latest)
FROM (SELECT memory_id, count(*) AS n, max(accessed_at) AS latest FROM memory_accesses
      WHERE event_id = ANY(%s::text[]) GROUP BY memory_id) AS a
WHERE m.memory_id = a.memory_id
"""

TURN_COLUMNS = (
    "event_id, app_id, user_id, agent_id, run_id, conversation_id, turn_id, role, speaker, text, metadata,"
    " occurred_at, recorded_at"
)
VERSION_COLUMNS = (
    "event_id, memory_id, event_type, state, text, valid_from, known_at, causation_id, log_topic, log_partition,"
    " log_offset"
)
MEMORY_COLUMNS = (
    "memory_id, app_id, user_id, agent_id, run_id, text, kind, state, importance, metadata, source_turn_ids,"
    " source_event_ids, extractor, embedding_model, valid_from, known_from, updated_at"
)

UPDATE_MEMORIES = """
UPDATE memories AS m
SET state = u.state, updated_at = COALESCE(u.updated_at, m.updated_at), embedding_model = u.embedding_model
FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[]) AS u(memory_id, state, updated_at, embedding_model)
WHERE m.memory_id = u.memory_id
"""

SAVE_CHECKPOINTS = """
INSERT INTO projection_checkpoints (projection, topic, partition, log_offset)
SELECT %s, t, p, o FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS c(t, p, o)
ON CONFLICT (projection, topic, partition) DO UPDATE SET log_offset = EXCLUDED.log_offset, updated_at = now()
WHERE projection_checkpoints.log_offset < EXCLUDED.log_offset
"""


@dataclass
class _Memory:
    """A memory as the batch leaves it. ``insert`` holds the fixed columns of one created by this batch."""

    text: str
    state: MemoryState
    embedding_model: str | None
    updated_at: datetime | None = None  # None: unchanged since before the batch
    insert: tuple[Any, ...] | None = None
    changed: bool = False


@dataclass
class _Plan:
    """What a batch reads before it decides, and the rows it decides to write."""

    applied_events: set[str] = field(default_factory=set)
    logged_turns: set[str] = field(default_factory=set)
    memories: dict[str, _Memory] = field(default_factory=dict)
    turns: list[tuple[Any, ...]] = field(default_factory=list)
    versions: list[tuple[Any, ...]] = field(default_factory=list)
    applied_accesses: set[str] = field(default_factory=set)
    accesses: list[tuple[Any, ...]] = field(default_factory=list)


class PostgresProjector:
    name = "postgres"

    def __init__(self, dsn: str, topics: tuple[str, ...], name: str = "postgres"):
        self.name = name
        self.topics = topics
        self._conn = psycopg.connect(dsn, autocommit=False)
        with self._conn.transaction():
            self._conn.execute(SCHEMA_SQL)
        self._checkpoints = self._load_checkpoints()

    def _load_checkpoints(self) -> dict[tuple[str, int], int]:
        rows = self._conn.execute(
            "SELECT topic, partition, log_offset FROM projection_checkpoints WHERE projection = %s", (self.name,)
        ).fetchall()
        self._conn.commit()
        return {(topic, partition): offset for topic, partition, offset in rows}

    def checkpoints(self) -> dict[tuple[str, int], int]:
        return dict(self._checkpoints)

    def apply_batch(self, items: Sequence[Positioned]) -> None:
        fresh = newer_than_checkpoint(items, self._checkpoints)
        if not fresh:
            return
        highest = highest_positions(fresh)
        with self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute(LOCK)
            cur.execute(INDEX_LOOKUPS)
            plan = self._read(cur, fresh)
            for item in fresh:
                self._apply(plan, item)
            self._write(cur, plan)
            keys = list(highest)
            cur.execute(
                SAVE_CHECKPOINTS,
                (self.name, [t for t, _ in keys], [p for _, p in keys], [highest[k] for k in keys]),
            )
        for key, offset in highest.items():
            self._checkpoints[key] = max(self._checkpoints.get(key, -1), offset)

    @staticmethod
    def _read(cur: psycopg.Cursor[Any], items: Sequence[Positioned]) -> _Plan:
        """One round trip: which of the batch's events were applied, and the memories it touches."""
        versions: list[str] = []
        turns: list[str] = []
        accesses: list[str] = []
        memory_ids: set[str] = set()
        for item in items:
            event = item.event
            if isinstance(event, ConversationTurnReceived):
                turns.append(event.event_id)
            elif isinstance(event, MemoryAccessed):
                accesses.append(event.event_id)
            elif isinstance(event, MemoryExtracted | MemoryEmbedded | MemoryActivated):
                versions.append(event.event_id)
                memory_ids.add(event.memory_id)
        plan = _Plan()
        if not versions and not turns and not accesses:
            return plan
        cur.execute(
            READ_STATE, {"versions": versions, "turns": turns, "accesses": accesses, "memories": list(memory_ids)}
        )
        for kind, key, text, state, model in cur.fetchall():
            if kind == "v":
                plan.applied_events.add(key)
            elif kind == "a":
                plan.applied_accesses.add(key)
            elif kind == "t":
                plan.logged_turns.add(key)
            else:
                plan.memories[key] = _Memory(text, MemoryState(state), model)
        return plan

    def _apply(self, plan: _Plan, item: Positioned) -> None:
        """Fold one event into the plan, exactly as applying it alone after the ones before it would."""
        event = item.event
        if isinstance(event, ConversationTurnReceived):
            if event.event_id not in plan.logged_turns:
                plan.logged_turns.add(event.event_id)
                plan.turns.append(_turn_row(event))
        elif isinstance(event, MemoryExtracted):
            recorded = self._record_version(plan, item, event.memory_id, MemoryState.EXTRACTED, event.text)
            if recorded and event.memory_id not in plan.memories:
                plan.memories[event.memory_id] = _Memory(
                    event.text,
                    MemoryState.EXTRACTED,
                    None,
                    event.envelope.recorded_at,
                    insert=_memory_row(event),
                    changed=True,
                )
        elif isinstance(event, MemoryEmbedded):
            if self._record_version(plan, item, event.memory_id, MemoryState.STORED, None):
                memory = plan.memories.get(event.memory_id)
                if memory is not None:
                    memory.embedding_model = event.model
                    memory.changed = True
                    _transition(memory, MemoryState.STORED, event.envelope.recorded_at)
        elif isinstance(event, MemoryActivated):
            if self._record_version(plan, item, event.memory_id, MemoryState.ACTIVE, None):
                memory = plan.memories.get(event.memory_id)
                if memory is not None:
                    _transition(memory, MemoryState.ACTIVE, event.envelope.recorded_at)
        elif isinstance(event, MemoryAccessed):
            # Not a version: an access changes no text and no state, and searches would flood the history.
            if event.event_id not in plan.applied_accesses:
                plan.applied_accesses.add(event.event_id)
                plan.accesses.append(
                    (
                        event.event_id,
                        event.memory_id,
                        event.envelope.occurred_at,
                        event.rank,
                        list(event.retrievers),
                        event.request_id,
                    )
                )
        elif isinstance(event, EntitiesLinked):
            pass  # entities live in Neo4j; PostgreSQL keeps memories and their history

    @staticmethod
    def _record_version(plan: _Plan, item: Positioned, memory_id: str, state: MemoryState, text: str | None) -> bool:
        """Add the history row; False means this event id was applied before (or earlier in the batch)."""
        env = item.event.envelope
        if env.event_id in plan.applied_events:
            return False
        plan.applied_events.add(env.event_id)
        if text is None:
            memory = plan.memories.get(memory_id)
            text = memory.text if memory is not None else ""
        pos = item.position
        plan.versions.append(
            (
                env.event_id,
                memory_id,
                env.event_type,
                state.value,
                text,
                env.occurred_at,
                env.recorded_at,
                env.causation_id,
                pos.topic,
                pos.partition,
                pos.offset,
            )
        )
        return True

    @staticmethod
    def _write(cur: psycopg.Cursor[Any], plan: _Plan) -> None:
        if plan.turns:
            _copy(cur, "conversation_turns", TURN_COLUMNS, plan.turns)
        if plan.accesses:
            _copy(cur, "memory_accesses", ACCESS_COLUMNS, plan.accesses)
        if plan.versions:
            _copy(cur, "memory_versions", VERSION_COLUMNS, plan.versions)
        created: list[tuple[Any, ...]] = []
        updated: list[tuple[str, _Memory]] = []
        for memory_id, memory in plan.memories.items():
            if memory.insert is not None:
                fixed = memory.insert  # MEMORY_COLUMNS less the three the batch decides
                state, model, updated_at = memory.state.value, memory.embedding_model, memory.updated_at
                created.append((*fixed[:7], state, *fixed[7:12], model, *fixed[12:], updated_at))
            elif memory.changed:
                updated.append((memory_id, memory))
        if created:
            _copy(cur, "memories", MEMORY_COLUMNS, created)
        if updated:
            cur.execute(
                UPDATE_MEMORIES,
                (
                    [memory_id for memory_id, _ in updated],
                    [m.state.value for _, m in updated],
                    [m.updated_at for _, m in updated],
                    [m.embedding_model for _, m in updated],
                ),
            )
        if plan.accesses:
            # After the memories are written: an access may arrive in the same batch as its memory.
            cur.execute(COUNT_ACCESSES, ([row[0] for row in plan.accesses],))

    def close(self) -> None:
        self._conn.close()


def _transition(memory: _Memory, target: MemoryState, at: datetime) -> None:
    """A guarded state change: a duplicate or late event can never move a memory backwards."""
    if can_transition(memory.state, target):
        memory.state = target
        memory.updated_at = at
        memory.changed = True


def _copy(cur: psycopg.Cursor[Any], table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _turn_row(turn: ConversationTurnReceived) -> tuple[Any, ...]:
    scope, env = turn.scope, turn.envelope
    return (
        turn.event_id,
        scope.app_id,
        scope.user_id,
        scope.agent_id,
        scope.run_id,
        turn.conversation_id,
        turn.turn_id,
        turn.role,
        turn.speaker,
        turn.text,
        Jsonb(turn.metadata),
        env.occurred_at,
        env.recorded_at,
    )


def _memory_row(event: MemoryExtracted) -> tuple[Any, ...]:
    """The columns a created memory takes from its MemoryExtracted (state, model and updated_at come later)."""
    scope, env = event.scope, event.envelope
    return (
        event.memory_id,
        scope.app_id,
        scope.user_id,
        scope.agent_id,
        scope.run_id,
        event.text,
        event.kind,
        event.importance,
        Jsonb(event.metadata),
        list(event.source_turn_ids),
        list(event.source_event_ids),
        event.extractor,
        env.occurred_at,
        env.recorded_at,
    )
