"""PostgreSQL projection: current memories, their versions, the conversation log, checkpoints.

Rows and the checkpoint commit in one transaction, so a crash can never leave one without the other.
Duplicates are caught twice over: positions at or below the checkpoint are skipped, and every memory
event inserts its version row keyed by ``event_id`` first — if that row exists the event was applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from memory.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
)
from memory.lifecycle import TRANSITIONS, MemoryState
from projections.base import Positioned, highest_positions, newer_than_checkpoint

SCHEMA_SQL = (Path(__file__).parent / "schema.sql").read_text()


def _sources_of(target: MemoryState) -> list[str]:
    return [state.value for state, targets in TRANSITIONS.items() if target in targets]


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
            for item in fresh:
                self._apply(cur, item)
            cur.executemany(
                "INSERT INTO projection_checkpoints (projection, topic, partition, log_offset) VALUES (%s,%s,%s,%s) "
                "ON CONFLICT (projection, topic, partition) DO UPDATE SET log_offset = EXCLUDED.log_offset, "
                "updated_at = now() WHERE projection_checkpoints.log_offset < EXCLUDED.log_offset",
                [(self.name, topic, partition, offset) for (topic, partition), offset in highest.items()],
            )
        for key, offset in highest.items():
            self._checkpoints[key] = max(self._checkpoints.get(key, -1), offset)

    def _apply(self, cur: psycopg.Cursor[Any], item: Positioned) -> None:
        event = item.event
        if isinstance(event, ConversationTurnReceived):
            self._apply_turn(cur, event)
        elif isinstance(event, MemoryExtracted):
            if self._record_version(cur, item, event.memory_id, MemoryState.EXTRACTED, event.text):
                self._insert_memory(cur, event)
        elif isinstance(event, MemoryEmbedded):
            if self._record_version(cur, item, event.memory_id, MemoryState.STORED, None):
                cur.execute(
                    "UPDATE memories SET embedding_model = %s WHERE memory_id = %s", (event.model, event.memory_id)
                )
                self._transition(cur, event.memory_id, MemoryState.STORED, event.envelope.recorded_at)
        elif isinstance(event, MemoryActivated):
            if self._record_version(cur, item, event.memory_id, MemoryState.ACTIVE, None):
                self._transition(cur, event.memory_id, MemoryState.ACTIVE, event.envelope.recorded_at)
        elif isinstance(event, EntitiesLinked):
            pass  # entities live in Neo4j; PostgreSQL keeps memories and their history

    def _apply_turn(self, cur: psycopg.Cursor[Any], turn: ConversationTurnReceived) -> None:
        scope = turn.scope
        cur.execute(
            "INSERT INTO conversation_turns (event_id, app_id, user_id, agent_id, run_id, conversation_id, turn_id,"
            " role, speaker, text, metadata, occurred_at, recorded_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (event_id) DO NOTHING",
            (
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
                turn.envelope.occurred_at,
                turn.envelope.recorded_at,
            ),
        )

    def _record_version(
        self, cur: psycopg.Cursor[Any], item: Positioned, memory_id: str, state: MemoryState, text: str | None
    ) -> bool:
        """Insert the history row; False means this event id was applied before."""
        env = item.event.envelope
        cur.execute(
            "INSERT INTO memory_versions (event_id, memory_id, event_type, state, text, valid_from, known_at,"
            " causation_id, log_topic, log_partition, log_offset)"
            " VALUES (%s, %s, %s, %s, COALESCE(%s, (SELECT text FROM memories WHERE memory_id = %s), ''),"
            " %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            (
                env.event_id,
                memory_id,
                env.event_type,
                state.value,
                text,
                memory_id,
                env.occurred_at,
                env.recorded_at,
                env.causation_id,
                item.position.topic,
                item.position.partition,
                item.position.offset,
            ),
        )
        return cur.fetchone() is not None

    def _insert_memory(self, cur: psycopg.Cursor[Any], event: MemoryExtracted) -> None:
        scope, env = event.scope, event.envelope
        cur.execute(
            "INSERT INTO memories (memory_id, app_id, user_id, agent_id, run_id, text, kind, state, importance,"
            " metadata, source_turn_ids, source_event_ids, extractor, valid_from, known_from, updated_at)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (memory_id) DO NOTHING",
            (
                event.memory_id,
                scope.app_id,
                scope.user_id,
                scope.agent_id,
                scope.run_id,
                event.text,
                event.kind,
                MemoryState.EXTRACTED.value,
                event.importance,
                Jsonb(event.metadata),
                list(event.source_turn_ids),
                list(event.source_event_ids),
                event.extractor,
                env.occurred_at,
                env.recorded_at,
                env.recorded_at,
            ),
        )

    def _transition(self, cur: psycopg.Cursor[Any], memory_id: str, target: MemoryState, at: Any) -> None:
        cur.execute(
            "UPDATE memories SET state = %s, updated_at = %s WHERE memory_id = %s AND state = ANY(%s)",
            (target.value, at, memory_id, _sources_of(target)),
        )

    def close(self) -> None:
        self._conn.close()
