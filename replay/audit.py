"""``memstream audit MEMORY_ID`` and ``GET /v1/memories/{id}/lineage``: why does the agent believe this?

The chain of events that made a memory what it is, from the bi-temporal history the PostgreSQL projection
keeps of the log: the turns it came from, extraction (and by what), embedding (and with which model),
activation, and every later change, each with valid time, known time and causation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row


@dataclass(frozen=True)
class LineageStep:
    event_id: str
    event_type: str
    state: str
    text: str
    valid_from: datetime
    known_at: datetime
    causation_id: str | None
    log_position: str


@dataclass(frozen=True)
class SourceTurn:
    event_id: str
    conversation_id: str
    turn_id: str
    role: str
    speaker: str | None
    text: str
    occurred_at: datetime


@dataclass(frozen=True)
class LineageLink:
    """``from_memory_id`` supersedes / summarizes / reinforces ``to_memory_id`` (memory_lineage)."""

    relation: str
    from_memory_id: str
    to_memory_id: str
    occurred_at: datetime
    event_id: str


@dataclass(frozen=True)
class Lineage:
    memory_id: str
    app_id: str
    user_id: str
    text: str
    state: str
    extractor: str
    embedding_model: str | None
    source_turns: list[SourceTurn]
    events: list[LineageStep]
    # Supersessions, consolidations (a summary and its originals) and reinforcements, in both directions.
    links: list[LineageLink]
    access_count: int
    last_accessed_at: datetime | None


class NotFoundError(LookupError):
    pass


def lineage(
    conn: psycopg.Connection[Any], memory_id: str, app_id: str | None = None, user_id: str | None = None
) -> Lineage:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM memories WHERE memory_id = %s", (memory_id,))
        memory = cur.fetchone()
        if memory is None or (user_id is not None and (memory["user_id"], memory["app_id"]) != (user_id, app_id)):
            raise NotFoundError(f"memory {memory_id} not found")
        cur.execute(
            "SELECT event_id, event_type, state, text, valid_from, known_at, causation_id, log_topic, log_partition,"
            " log_offset FROM memory_versions WHERE memory_id = %s ORDER BY known_at, log_partition, log_offset",
            (memory_id,),
        )
        steps = [
            LineageStep(
                r["event_id"],
                r["event_type"],
                r["state"],
                r["text"],
                r["valid_from"],
                r["known_at"],
                r["causation_id"],
                f"{r['log_topic']}/{r['log_partition']}@{r['log_offset']}",
            )
            for r in cur.fetchall()
        ]
        cur.execute(
            "SELECT event_id, conversation_id, turn_id, role, speaker, text, occurred_at FROM conversation_turns"
            " WHERE event_id = ANY(%s) ORDER BY occurred_at",
            (list(memory["source_event_ids"] or []),),
        )
        turns = [SourceTurn(**r) for r in cur.fetchall()]
        cur.execute(
            "SELECT relation, from_memory_id, to_memory_id, occurred_at, event_id FROM memory_lineage"
            " WHERE from_memory_id = %s OR to_memory_id = %s ORDER BY occurred_at, relation, from_memory_id,"
            " to_memory_id",
            (memory_id, memory_id),
        )
        links = [LineageLink(**r) for r in cur.fetchall()]
    return Lineage(
        memory_id=memory_id,
        app_id=memory["app_id"],
        user_id=memory["user_id"],
        text=memory["text"],
        state=memory["state"],
        extractor=memory["extractor"],
        embedding_model=memory["embedding_model"],
        source_turns=turns,
        events=steps,
        links=links,
        access_count=int(memory.get("access_count") or 0),
        last_accessed_at=memory.get("last_accessed_at"),
    )
