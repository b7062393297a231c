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


@dataclass(frozen=True)
class Owner:
    """The one app and user whose memory may be read (the API's caller); every statement filters by it."""

    app_id: str
    user_id: str


# With an owner, each statement keeps to that app and user in SQL: a memory, version, turn or linked memory of
# anyone else is as absent as one that never existed. Without one (the operator's ``memstream audit``), all.
OWNED = "(%(app)s::text IS NULL OR {alias}.app_id = %(app)s) AND (%(user)s::text IS NULL OR {alias}.user_id = %(user)s)"


def owned(alias: str) -> str:
    return OWNED.format(alias=alias)


def lineage(conn: psycopg.Connection[Any], memory_id: str, owner: Owner | None = None) -> Lineage:
    scope = {"id": memory_id, "app": owner and owner.app_id, "user": owner and owner.user_id}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT * FROM memories m WHERE m.memory_id = %(id)s AND {owned('m')}", scope)
        memory = cur.fetchone()
        if memory is None:
            raise NotFoundError(f"memory {memory_id} not found")
        # Versions, accesses and links carry no scope: they are joined to memories of the owner.
        cur.execute(
            "SELECT v.event_id, v.event_type, v.state, v.text, v.valid_from, v.known_at, v.causation_id, v.log_topic,"
            " v.log_partition, v.log_offset FROM memory_versions v JOIN memories m ON m.memory_id = v.memory_id"
            f" WHERE v.memory_id = %(id)s AND {owned('m')} ORDER BY v.known_at, v.log_partition, v.log_offset",
            scope,
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
            "SELECT t.event_id, t.conversation_id, t.turn_id, t.role, t.speaker, t.text, t.occurred_at"
            f" FROM conversation_turns t WHERE t.event_id = ANY(%(turns)s) AND {owned('t')} ORDER BY t.occurred_at",
            {**scope, "turns": list(memory["source_event_ids"] or [])},
        )
        turns = [SourceTurn(**r) for r in cur.fetchall()]
        # A link's other end is a memory of the same owner (the lifecycle links within one user's memories).
        cur.execute(
            "SELECT l.relation, l.from_memory_id, l.to_memory_id, l.occurred_at, l.event_id FROM memory_lineage l"
            " JOIN memories m ON m.memory_id = CASE WHEN l.from_memory_id = %(id)s THEN l.to_memory_id"
            " ELSE l.from_memory_id END"
            f" WHERE (l.from_memory_id = %(id)s OR l.to_memory_id = %(id)s) AND {owned('m')}"
            " ORDER BY l.occurred_at, l.relation, l.from_memory_id, l.to_memory_id",
            scope,
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
