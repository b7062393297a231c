"""PostgreSQL projection: current memories, their versions and lineage, tombstones, the conversation log and its
sessions (``sessions``), core memory blocks and their versions (``block_fold``), checkpoints.

Rows and the checkpoint commit in one transaction, so a crash can never leave one without the other.
Duplicates are caught twice over: positions at or below the checkpoint are skipped, and every memory
event is recorded as a version row keyed by ``event_id`` — if that row exists the event was applied
(accesses and erasures have their own event-keyed rows; a forgotten memory's tombstone outlives its versions).

A batch costs a handful of statements, not several per event (a rebuild replays the whole log): under a
per-schema advisory lock, one query reads what the batch touches (applied event ids, current memories,
tombstones); the events are then folded in log order in memory (``fold``) — the same guarded lifecycle as
one statement per event would give — and the outcome is written with COPY (new turns, versions, memories)
and one UPDATE (memories that existed before the batch). The lock makes read-decide-write safe against a
second projector writing the same schema at the same time. A ``UserErased`` deletes by user, which no
in-memory fold can see: the batch is cut there, and the pieces are read, folded and written in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from psycopg.types.json import Jsonb

from memory.contract.events import ConversationTurnReceived, UserErased
from memory.conversations.sessions import DEFAULT_GAP
from memory.ingest.derivation import MAX_TURN_CHARS, is_valid_turn
from memory.lifecycle.machine import MemoryState
from projections.base import Positioned, highest_positions, newer_than_checkpoint
from projections.postgres.fold import Memory, Plan, fold, segments, touched
from projections.postgres.rows import RECORDS, columns
from projections.postgres.sessions import backfill_sessions, sessions_missing, update_sessions

SCHEMA_SQL = (Path(__file__).parent / "schema.sql").read_text()

# Serialises writers of one schema's tables (the key is per schema, so rebuilds beside it never wait).
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('memstream.projection.postgres/' || current_schema(), 0))"
# Two projector processes start at once, and CREATE TABLE IF NOT EXISTS is not atomic in PostgreSQL: the loser of
# the race fails on pg_type's unique index. The schema's DDL runs under its own lock, one process after the other.
SCHEMA_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended('memstream.projection.postgres.schema/' || current_schema(), 0))"
)
# A batch looks up at most a batch's worth of keys, always by primary key. A rebuild grows the tables faster
# than autovacuum analyzes them, and without statistics the planner scans whole tables for those keys: a
# rebuild would slow down as it goes (quadratic). For this transaction only, index lookups it is.
INDEX_LOOKUPS = "SET LOCAL enable_seqscan = off"

READ_STATE = """
SELECT 'm', memory_id, text, state, embedding_model, importance, pinned, valid_to, app_id, user_id
FROM memories WHERE memory_id = ANY(%(memories)s::text[])
UNION ALL
SELECT 'v', event_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM memory_versions WHERE event_id = ANY(%(versions)s::text[])
UNION ALL
SELECT 't', event_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM conversation_turns WHERE event_id = ANY(%(turns)s::text[])
UNION ALL
SELECT 'a', event_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM memory_accesses WHERE event_id = ANY(%(accesses)s::text[])
UNION ALL
SELECT 'x', memory_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM memory_tombstones WHERE memory_id = ANY(%(referenced)s::text[])
UNION ALL
SELECT 'e', NULL, NULL, NULL, NULL, NULL, NULL, max(known_at), app_id, user_id
FROM user_erasures WHERE (app_id, user_id) IN (SELECT * FROM unnest(%(apps)s::text[], %(users)s::text[]))
GROUP BY app_id, user_id
"""

# Counted from the rows this batch inserted, so the count is exactly the number of distinct access events.
COUNT_ACCESSES = """
UPDATE memories AS m
SET access_count = m.access_count + a.n, last_accessed_at = GREATEST(m.last_accessed_at, a.latest)
FROM (SELECT memory_id, count(*) AS n, max(accessed_at) AS latest FROM memory_accesses
      WHERE event_id = ANY(%s::text[]) GROUP BY memory_id) AS a
WHERE m.memory_id = a.memory_id
"""

# text is NULL where it did not change: no need to ship it back.
UPDATE_MEMORIES = """
UPDATE memories AS m
SET state = u.state, updated_at = COALESCE(u.updated_at, m.updated_at), embedding_model = u.embedding_model,
    text = COALESCE(u.text, m.text), importance = u.importance, pinned = u.pinned, valid_to = u.valid_to
FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::real[], %s::boolean[],
            %s::timestamptz[]) AS u(memory_id, state, updated_at, embedding_model, text, importance, pinned, valid_to)
WHERE m.memory_id = u.memory_id
"""


def _insert_unnest(table: str, types: dict[str, str], conflict: str) -> str:
    """INSERT ... SELECT FROM unnest(column arrays) for rows that may already be there (COPY cannot skip them).

    The columns are the record's fields, and each array's type is looked up by column name, so neither the
    column list nor the casts can drift from the record's field order."""
    fields: tuple[str, ...] = RECORDS[table]._fields
    if set(types) != set(fields):
        raise AssertionError(f"{table}: SQL types {sorted(types)} are not the columns {sorted(fields)}")
    arrays = ", ".join(f"%s::{types[name]}[]" for name in fields)
    return f"INSERT INTO {table} ({columns(RECORDS[table])}) SELECT * FROM unnest({arrays}) ON CONFLICT {conflict}"


# Another event may have stated the same link before: the first one stays.
INSERT_LINEAGE = _insert_unnest(
    "memory_lineage",
    {
        "event_id": "text",
        "relation": "text",
        "from_memory_id": "text",
        "to_memory_id": "text",
        "occurred_at": "timestamptz",
        "known_at": "timestamptz",
    },
    "(relation, from_memory_id, to_memory_id) DO NOTHING",
)
# An id forgotten before keeps its first tombstone.
INSERT_TOMBSTONES = _insert_unnest(
    "memory_tombstones",
    {"memory_id": "text", "app_id": "text", "user_id": "text", "forgotten_at": "timestamptz", "reason": "text"},
    "(memory_id) DO NOTHING",
)

# A block event applied before keeps its history row; the block moves only to a higher version, so an event
# applied twice, or an older one after a newer (a redelivery), changes nothing.
INSERT_BLOCK_VERSIONS = _insert_unnest(
    "core_block_versions",
    {
        "event_id": "text",
        "app_id": "text",
        "user_id": "text",
        "agent_id": "text",
        "label": "text",
        "change": "text",
        "value": "text",
        "char_limit": "int",
        "version": "bigint",
        "written": "boolean",
        "reason": "text",
        "valid_from": "timestamptz",
        "known_at": "timestamptz",
        "causation_id": "text",
        "log_topic": "text",
        "log_partition": "int",
        "log_offset": "bigint",
    },
    "(event_id) DO NOTHING",
)
UPSERT_BLOCKS = (
    _insert_unnest(
        "core_blocks",
        {
            "app_id": "text",
            "user_id": "text",
            "agent_id": "text",
            "label": "text",
            "value": "text",
            "char_limit": "int",
            "version": "bigint",
            "written": "boolean",
            "updated_at": "timestamptz",
            "event_id": "text",
        },
        "(app_id, user_id, agent_id, label) DO UPDATE SET value = EXCLUDED.value, char_limit = EXCLUDED.char_limit,"
        " version = EXCLUDED.version, written = EXCLUDED.written, updated_at = EXCLUDED.updated_at,"
        " event_id = EXCLUDED.event_id",
    )
    + " WHERE core_blocks.version < EXCLUDED.version"
)

# A forgotten memory leaves no row in this schema but its tombstone.
REMOVE_MEMORIES = """
WITH versions AS (DELETE FROM memory_versions WHERE memory_id = ANY(%(ids)s::text[])),
     accesses AS (DELETE FROM memory_accesses WHERE memory_id = ANY(%(ids)s::text[])),
     lineage AS (DELETE FROM memory_lineage
                 WHERE from_memory_id = ANY(%(ids)s::text[]) OR to_memory_id = ANY(%(ids)s::text[]))
DELETE FROM memories WHERE memory_id = ANY(%(ids)s::text[])
"""

RECORD_ERASURE = """
INSERT INTO user_erasures (event_id, app_id, user_id, erased_at, known_at) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (event_id) DO NOTHING RETURNING event_id
"""
# Every memory of the user with its versions, accesses and lineage, and the conversation log; a tombstone
# per memory (an id forgotten before keeps its first tombstone). Agent and run are not part of a user's key:
# erasure takes everything stored under the app and user.
ERASE_USER = """
WITH ids AS (SELECT memory_id FROM memories WHERE app_id = %(app)s AND user_id = %(user)s),
     versions AS (DELETE FROM memory_versions WHERE memory_id IN (SELECT memory_id FROM ids)),
     accesses AS (DELETE FROM memory_accesses WHERE memory_id IN (SELECT memory_id FROM ids)),
     lineage AS (DELETE FROM memory_lineage WHERE from_memory_id IN (SELECT memory_id FROM ids)
                                              OR to_memory_id IN (SELECT memory_id FROM ids)),
     memories AS (DELETE FROM memories WHERE memory_id IN (SELECT memory_id FROM ids)),
     turns AS (DELETE FROM conversation_turns WHERE app_id = %(app)s AND user_id = %(user)s),
     sessions AS (DELETE FROM conversation_sessions WHERE app_id = %(app)s AND user_id = %(user)s),
     blocks AS (DELETE FROM core_blocks WHERE app_id = %(app)s AND user_id = %(user)s),
     block_versions AS (DELETE FROM core_block_versions WHERE app_id = %(app)s AND user_id = %(user)s)
INSERT INTO memory_tombstones (memory_id, app_id, user_id, forgotten_at, reason)
SELECT memory_id, %(app)s, %(user)s, %(at)s, 'user erased' FROM ids
ON CONFLICT (memory_id) DO NOTHING
"""

SAVE_CHECKPOINTS = """
INSERT INTO projection_checkpoints (projection, topic, partition, log_offset)
SELECT %s, t, p, o FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS c(t, p, o)
ON CONFLICT (projection, topic, partition) DO UPDATE SET log_offset = EXCLUDED.log_offset, updated_at = now()
WHERE projection_checkpoints.log_offset < EXCLUDED.log_offset
"""


class PostgresProjector:
    name = "postgres"

    def __init__(
        self,
        dsn: str,
        topics: tuple[str, ...],
        name: str = "postgres",
        max_turn_chars: int = MAX_TURN_CHARS,
        session_gap: timedelta = DEFAULT_GAP,
    ):
        self.name = name
        self.topics = topics
        self.max_turn_chars = max_turn_chars  # extraction's limit (Settings.max_content_chars)
        self.session_gap = session_gap  # Settings.session_gap_minutes
        self._conn = psycopg.connect(dsn, autocommit=False)
        with self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute(SCHEMA_LOCK)
            backfill = sessions_missing(cur)  # under the lock: one process backfills, the others find the table
            cur.execute(SCHEMA_SQL)
            if backfill:
                backfill_sessions(cur, session_gap)
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
            for segment, erasure in segments(fresh):
                if segment:
                    plan = self._read(cur, segment)
                    for item in segment:
                        self._apply(plan, item)
                    self._write(cur, plan)
                    if plan.turns:
                        update_sessions(cur, plan.turns, self.session_gap)
                if erasure is not None:
                    self._erase(cur, erasure)
            keys = list(highest)
            cur.execute(
                SAVE_CHECKPOINTS,
                (self.name, [t for t, _ in keys], [p for _, p in keys], [highest[k] for k in keys]),
            )
        for key, offset in highest.items():
            self._checkpoints[key] = max(self._checkpoints.get(key, -1), offset)

    @staticmethod
    def _read(cur: psycopg.Cursor[Any], items: Sequence[Positioned]) -> Plan:
        """One round trip: which of the batch's events were applied, the memories and tombstones it names."""
        keys = touched(items)
        plan = Plan()
        if not keys:
            return plan
        cur.execute(
            READ_STATE,
            {
                "memories": list(keys.memories),
                "versions": keys.versions,
                "turns": keys.turns,
                "accesses": keys.accesses,
                "referenced": list(keys.referenced),
                "apps": [app for app, _ in keys.scopes],
                "users": [user for _, user in keys.scopes],
            },
        )
        for kind, key, text, state, model, importance, pinned, valid_to, app_id, user_id in cur.fetchall():
            if kind == "m":
                plan.memories[key] = Memory(
                    app_id, user_id, text, MemoryState(state), model, importance, pinned, valid_to
                )
            elif kind == "v":
                plan.applied_events.add(key)
            elif kind == "a":
                plan.applied_accesses.add(key)
            elif kind == "t":
                plan.logged_turns.add(key)
            elif kind == "x":
                plan.tombstoned.add(key)
            else:
                plan.erased[(app_id, user_id)] = valid_to
        # A tombstoned id has no memory row; this only guards a schema edited by hand.
        for memory_id in plan.tombstoned:
            plan.memories.pop(memory_id, None)
        return plan

    def _apply(self, plan: Plan, item: Positioned) -> None:
        # A turn extraction dead-letters (same rule, same limit) is no part of the conversation log: it would be
        # a turn no memory came from, and one with a NUL is text PostgreSQL refuses anyway.
        event = item.event
        if isinstance(event, ConversationTurnReceived) and not is_valid_turn(event, self.max_turn_chars):
            return
        fold(plan, item)

    @staticmethod
    def _write(cur: psycopg.Cursor[Any], plan: Plan) -> None:
        if plan.turns:
            _copy(cur, "conversation_turns", plan.turns)
        if plan.accesses:
            _copy(cur, "memory_accesses", plan.accesses)
        if plan.versions:
            _copy(cur, "memory_versions", plan.versions)
        created = plan.created_rows()
        if created:
            _copy(cur, "memories", created)
        updated = plan.updated()
        if updated:
            cur.execute(
                UPDATE_MEMORIES,
                (
                    [memory_id for memory_id, _ in updated],
                    [m.state.value for _, m in updated],
                    [m.updated_at for _, m in updated],
                    [m.embedding_model for _, m in updated],
                    [m.text if m.text_changed else None for _, m in updated],
                    [m.importance for _, m in updated],
                    [m.pinned for _, m in updated],
                    [m.valid_to for _, m in updated],
                ),
            )
        if plan.lineage:
            cur.execute(INSERT_LINEAGE, _column_arrays(list(plan.lineage.values())))
        if plan.accesses:
            # After the memories are written: an access may arrive in the same batch as its memory.
            cur.execute(COUNT_ACCESSES, ([row.event_id for row in plan.accesses],))
        if plan.blocks:
            cur.execute(INSERT_BLOCK_VERSIONS, _column_arrays(list(plan.blocks.versions.values())))
            if plan.blocks.current:
                cur.execute(UPSERT_BLOCKS, _column_arrays(list(plan.blocks.current.values())))
        if plan.forgotten:
            # Last: this also removes the rows the batch wrote above for a memory it then forgot.
            cur.execute(REMOVE_MEMORIES, {"ids": list(plan.forgotten)})
            cur.execute(INSERT_TOMBSTONES, _column_arrays(list(plan.forgotten.values())))

    @staticmethod
    def _erase(cur: psycopg.Cursor[Any], event: UserErased) -> None:
        scope, env = event.scope, event.envelope
        cur.execute(RECORD_ERASURE, (env.event_id, scope.app_id, scope.user_id, env.occurred_at, env.recorded_at))
        if cur.fetchone() is None:
            return  # applied before: erasing again would erase what the user stored since
        cur.execute(ERASE_USER, {"app": scope.app_id, "user": scope.user_id, "at": env.occurred_at})

    def close(self) -> None:
        self._conn.close()


def _copy(cur: psycopg.Cursor[Any], table: str, rows: Sequence[NamedTuple]) -> None:
    """COPY the records of ``table``; the column list is the record's fields, so it matches every row."""
    with cur.copy(f"COPY {table} ({columns(RECORDS[table])}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(_adapt(row))


def _adapt(row: NamedTuple) -> tuple[Any, ...]:
    # psycopg has no default adaptation for a dict; the records' only dicts are their jsonb columns.
    return tuple(Jsonb(value) if isinstance(value, dict) else value for value in row)


def _column_arrays(rows: Sequence[NamedTuple]) -> tuple[list[Any], ...]:
    """The rows turned into one array per column, in field order: the parameters of an ``_insert_unnest``."""
    return tuple(list(column) for column in zip(*rows, strict=True))
