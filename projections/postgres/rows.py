"""The rows the PostgreSQL projection writes, one record type per table. Pure: no I/O, no driver.

Each record is a ``NamedTuple`` whose field names are the table's columns, in the order the row carries its
values: ``columns(Record)`` is the column list of the SQL that writes it, so the statement and the tuple
can never disagree (a renamed or reordered field changes both; a field that is not a column fails the
write, and ``tests/unit/test_postgres_rows.py`` checks every field against ``schema.sql``). Being tuples,
records go to COPY and to ``unnest`` column arrays as they are.

Values are plain Python: JSON columns hold a ``dict``, array columns a ``list``. Adapting them to the
driver (psycopg's ``Jsonb``) is the projector's business.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from memory.contract.events import ConversationTurnReceived, MemoryAccessed


class TurnRow(NamedTuple):
    """``conversation_turns``: one turn of the conversation log."""

    event_id: str
    app_id: str
    user_id: str
    agent_id: str | None
    run_id: str | None
    conversation_id: str
    turn_id: str
    role: str
    speaker: str | None
    text: str
    metadata: dict[str, str]  # jsonb
    occurred_at: datetime
    recorded_at: datetime
    session_id: str | None


class AccessRow(NamedTuple):
    """``memory_accesses``: one retrieval that returned the memory (keyed by event, so counted once)."""

    event_id: str
    memory_id: str
    accessed_at: datetime
    rank: int
    retrievers: list[str]
    request_id: str


class VersionRow(NamedTuple):
    """``memory_versions``: the memory as one event left it, with the log position of that event.

    The after-values are NULL (None) for an event on a memory the projection does not hold."""

    event_id: str
    memory_id: str
    event_type: str
    state: str
    text: str
    importance: float | None
    pinned: bool | None
    valid_from: datetime
    valid_to: datetime | None
    known_at: datetime
    causation_id: str | None
    log_topic: str
    log_partition: int
    log_offset: int


class MemoryRow(NamedTuple):
    """``memories``: a memory created by the batch (later changes are UPDATEs of named columns)."""

    memory_id: str
    app_id: str
    user_id: str
    agent_id: str | None
    run_id: str | None
    text: str
    kind: str
    state: str
    importance: float
    pinned: bool
    metadata: dict[str, str]  # jsonb
    source_turn_ids: list[str]
    source_event_ids: list[str]
    extractor: str
    embedding_model: str | None
    valid_from: datetime
    valid_to: datetime | None
    known_from: datetime
    updated_at: datetime | None
    log_offset: int | None  # of the MemoryExtracted that created it: the order it was said, within its user


class LineageRow(NamedTuple):
    """``memory_lineage``: one link between two memories, as the first event that stated it."""

    event_id: str
    relation: str
    from_memory_id: str
    to_memory_id: str
    occurred_at: datetime
    known_at: datetime


class TombstoneRow(NamedTuple):
    """``memory_tombstones``: what was deleted, ids and times only, never text."""

    memory_id: str
    app_id: str
    user_id: str
    forgotten_at: datetime
    reason: str


class BlockRow(NamedTuple):
    """``core_blocks``: a core memory block as its latest change left it (``agent_id`` '' = no agent)."""

    app_id: str
    user_id: str
    agent_id: str
    label: str
    value: str
    char_limit: int
    version: int
    written: bool
    updated_at: datetime
    event_id: str


class BlockVersionRow(NamedTuple):
    """``core_block_versions``: one change of a block (or a refused edit), with its times and log position."""

    event_id: str
    app_id: str
    user_id: str
    agent_id: str
    label: str
    change: str
    value: str
    char_limit: int
    version: int
    written: bool
    reason: str | None
    valid_from: datetime
    known_at: datetime
    causation_id: str | None
    log_topic: str
    log_partition: int
    log_offset: int


class SessionRow(NamedTuple):
    """``conversation_sessions``: one session of a conversation (``memory.conversations.sessions``); an inferred
    one has no ``session_id``."""

    app_id: str
    user_id: str
    conversation_id: str
    session_id: str | None
    started_at: datetime
    ended_at: datetime
    turn_count: int


RECORDS: dict[str, type[Any]] = {
    "conversation_turns": TurnRow,
    "memory_accesses": AccessRow,
    "memory_versions": VersionRow,
    "memories": MemoryRow,
    "memory_lineage": LineageRow,
    "memory_tombstones": TombstoneRow,
    "core_blocks": BlockRow,
    "core_block_versions": BlockVersionRow,
    "conversation_sessions": SessionRow,
}


def columns(record: type[Any]) -> str:
    """The SQL column list of a record type, in its field order: ``"event_id, memory_id, ..."``."""
    fields: tuple[str, ...] = record._fields
    return ", ".join(fields)


def turn_row(turn: ConversationTurnReceived) -> TurnRow:
    scope, env = turn.scope, turn.envelope
    return TurnRow(
        event_id=turn.event_id,
        app_id=scope.app_id,
        user_id=scope.user_id,
        agent_id=scope.agent_id,
        run_id=scope.run_id,
        conversation_id=turn.conversation_id,
        turn_id=turn.turn_id,
        role=turn.role,
        speaker=turn.speaker,
        text=turn.text,
        metadata=turn.metadata,
        occurred_at=env.occurred_at,
        recorded_at=env.recorded_at,
        session_id=turn.session_id,
    )


def access_row(event: MemoryAccessed) -> AccessRow:
    return AccessRow(
        event_id=event.event_id,
        memory_id=event.memory_id,
        accessed_at=event.envelope.occurred_at,
        rank=event.rank,
        retrievers=list(event.retrievers),
        request_id=event.request_id,
    )
