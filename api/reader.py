"""Read path over PostgreSQL: one memory, a user's memories. Scope is part of every WHERE clause."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.errors import NotFound
from api.schemas import HistoryEntry, MemoryHistory, MemoryList, MemoryOut
from memory.retrieval.scoring import CandidateRow

COLUMNS = (
    "memory_id, app_id, user_id, agent_id, run_id, text, kind, state, importance, metadata, source_turn_ids,"
    " known_from, updated_at, valid_from, valid_to, embedding_model, pinned, log_offset"
)

# What a search reads of each candidate (``search_rows``): the ordering's fields and the hit's. The metadata comes as
# JSON text, decoded only for the hits returned (``hit_metadata``): decoding ~200 jsonb values per search was half
# of the rows stage; the two keys the ordering reads come as their own columns.
SEARCH_COLUMNS = (
    "memory_id, text, kind, state, importance, metadata::text AS metadata_json, metadata->>'speaker' AS speaker,"
    " metadata->>'conversation_id' AS conversation_id, source_turn_ids, valid_from, valid_to, log_offset"
)
_METADATA = msgspec.json.Decoder(dict[str, Any] | None)


@dataclass(frozen=True)
class ListFilter:
    """What narrows a user's memory list besides scope and states (``GET /v1/memories``'s query parameters)."""

    metadata: dict[str, str] | None = None
    kind: str | None = None
    text_contains: str | None = None  # case-insensitive, anywhere in the text
    pinned: bool | None = None
    occurred_after: datetime | None = None  # valid time (valid_from), inclusive
    occurred_before: datetime | None = None  # valid time (valid_from), exclusive
    include_superseded: bool = False  # also memories a newer statement ended (valid_to set)

    def sql(self) -> tuple[list[str], list[Any]]:
        where: list[str] = [] if self.include_superseded else ["valid_to IS NULL"]
        params: list[Any] = []
        for condition, value in (
            ("metadata @> %s::jsonb", json.dumps(self.metadata) if self.metadata else None),
            ("kind = %s", self.kind),
            # strpos, not LIKE: the words are matched as typed, '%' and '_' included.
            ("strpos(lower(text), lower(%s)) > 0", self.text_contains),
            ("pinned = %s", self.pinned),
            ("valid_from >= %s", self.occurred_after),
            ("valid_from < %s", self.occurred_before),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        return where, params


def not_found(memory_id: str, user_id: str) -> str:
    """The one 404 message of a memory id: the same whether the id is unknown or another tenant's, and built
    from the request alone, so ids leak nothing."""
    return f"memory {memory_id} not found for user {user_id}"


def memory_out(row: dict[str, Any]) -> MemoryOut:
    return MemoryOut(
        id=row["memory_id"],
        memory=row["text"],
        user_id=row["user_id"],
        app_id=row["app_id"],
        agent_id=row["agent_id"],
        run_id=row["run_id"],
        kind=row["kind"],
        state=row["state"],
        importance=float(row["importance"]),
        metadata={str(k): str(v) for k, v in (row["metadata"] or {}).items()},
        source_turn_ids=list(row["source_turn_ids"] or []),
        created_at=row["known_from"],
        updated_at=row["updated_at"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        embedding_model=row["embedding_model"],
        pinned=bool(row["pinned"]),
    )


def candidate_row(row: dict[str, Any]) -> CandidateRow:
    """What the search ordering reads of a ``search_rows`` row (``memory.retrieval.scoring``); the speaker and the
    conversation are metadata."""
    return CandidateRow(
        memory_id=row["memory_id"],
        text=row["text"],
        importance=float(row["importance"]),
        valid_from=row["valid_from"],
        speaker=row["speaker"] or "",
        conversation_id=row["conversation_id"] or "",
        source_turn_ids=tuple(row["source_turn_ids"] or ()),
        log_offset=row["log_offset"],
    )


def hit_metadata(row: dict[str, Any]) -> dict[str, str]:
    """A ``search_rows`` row's metadata, as a hit shows it."""
    metadata = _METADATA.decode(row["metadata_json"]) if row["metadata_json"] else None
    return {str(k): str(v) for k, v in (metadata or {}).items()}


# Every turn of the candidates' conversations numbered by when it was said: the conversation log
# (``conversation_turns``) beside the memories, so a turn that made no memory (small talk the extractor leaves
# to the log) still stands between its neighbours; "two turns away" means two turns of the conversation
# whichever of them were worth a memory. A turn known only from its memories (written without the log) still
# gets its place. Turns said at the same time (a request's messages share its occurred_at) go by where their
# memories sit in the log, then by when the request was recorded and the message's index in the API's turn id
# ("<request id>:<index>", shortest first so ":10" follows ":9"); never by a random id alone
# (memory.retrieval.said_order).
# The numbering is returned whole (hundreds of rows) and matched in Python: joined back to the candidates in
# SQL, the planner ran the window once per candidate.
_NUMBERED_TURNS = """
WITH conversations AS ({conversations}
), remembered AS (
  SELECT metadata->>'conversation_id' AS conversation, source_turn_ids[1] AS turn, min(valid_from) AS said_at,
         min(log_offset) AS logged
  FROM memories
  WHERE app_id = %(app)s AND user_id = %(user)s AND cardinality(source_turn_ids) = 1
    AND metadata->>'conversation_id' IN (SELECT conversation FROM conversations)
  GROUP BY 1, 2
), logged AS (
  SELECT conversation_id AS conversation, turn_id AS turn, occurred_at AS said_at, recorded_at
  FROM conversation_turns
  WHERE app_id = %(app)s AND user_id = %(user)s AND conversation_id IN (SELECT conversation FROM conversations)
), turns AS (
  SELECT coalesce(r.conversation, l.conversation) AS conversation, coalesce(r.turn, l.turn) AS turn,
         coalesce(l.said_at, r.said_at) AS said_at, r.logged, l.recorded_at
  FROM remembered r FULL JOIN logged l ON l.conversation = r.conversation AND l.turn = r.turn
)
SELECT conversation, turn,
       row_number() OVER (PARTITION BY conversation ORDER BY said_at, logged, recorded_at, length(turn), turn) - 1
FROM turns
"""
TURN_POSITIONS = _NUMBERED_TURNS.format(
    conversations="""
  SELECT DISTINCT metadata->>'conversation_id' AS conversation
  FROM memories WHERE memory_id = ANY(%(ids)s) AND app_id = %(app)s AND user_id = %(user)s"""
)
# Every conversation the user's memories come from (api.turn_positions keeps it per cache epoch): the numbering is
# per conversation, so each turn's position is the one TURN_POSITIONS gives.
ALL_TURN_POSITIONS = _NUMBERED_TURNS.format(
    conversations="""
  SELECT DISTINCT metadata->>'conversation_id' AS conversation
  FROM memories WHERE app_id = %(app)s AND user_id = %(user)s"""
)


class MemoryReader:
    def __init__(self, pool: AsyncConnectionPool):
        self._pool = pool

    @property
    def pool(self) -> AsyncConnectionPool:
        """The target's pool, for the reads a search adds (api.time_scope)."""
        return self._pool

    async def get(self, memory_id: str, app_id: str, user_id: str) -> MemoryOut:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {COLUMNS} FROM memories WHERE memory_id = %s AND app_id = %s AND user_id = %s",
                (memory_id, app_id, user_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(not_found(memory_id, user_id))
        return memory_out(row)

    async def list_for_user(
        self,
        app_id: str,
        user_id: str,
        agent_id: str | None,
        run_id: str | None,
        states: list[str],
        limit: int,
        offset: int,
        narrowed: ListFilter | None = None,
    ) -> MemoryList:
        where = ["app_id = %s", "user_id = %s", "state = ANY(%s)"]
        params: list[Any] = [app_id, user_id, states]
        conditions, values = (narrowed or ListFilter()).sql()
        where.extend(conditions)
        params.extend(values)
        if agent_id is not None:
            where.append("agent_id = %s")
            params.append(agent_id)
        if run_id is not None:
            where.append("run_id = %s")
            params.append(run_id)
        clause = " AND ".join(where)
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT count(*) AS n FROM memories WHERE {clause}", params)
            total_row = await cur.fetchone()
            await cur.execute(
                f"SELECT {COLUMNS} FROM memories WHERE {clause} ORDER BY valid_from DESC, memory_id LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            rows = await cur.fetchall()
        total = int(total_row["n"]) if total_row else 0
        return MemoryList(results=[memory_out(r) for r in rows], total=total, limit=limit, offset=offset)

    async def fetch_many(
        self, memory_ids: list[str], app_id: str, user_id: str, visible: str = "TRUE", params: list[Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Rows of these memories that belong to the user and pass ``visible`` (an SQL condition)."""
        if not memory_ids:
            return {}
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {COLUMNS} FROM memories WHERE memory_id = ANY(%s) AND app_id = %s AND user_id = %s"
                f" AND {visible}",
                [memory_ids, app_id, user_id, *(params or [])],
            )
            return {row["memory_id"]: row for row in await cur.fetchall()}

    async def search_rows(
        self, memory_ids: list[str], app_id: str, user_id: str, visible: str, params: list[Any]
    ) -> dict[str, dict[str, Any]]:
        """``fetch_many`` with what a search reads (``SEARCH_COLUMNS``), for its candidates."""
        if not memory_ids:
            return {}
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {SEARCH_COLUMNS} FROM memories WHERE memory_id = ANY(%s) AND app_id = %s AND user_id = %s"
                f" AND {visible}",
                [memory_ids, app_id, user_id, *params],
            )
            return {row["memory_id"]: row for row in await cur.fetchall()}

    async def turn_positions(self, memory_ids: list[str], app_id: str, user_id: str) -> dict[tuple[str, str], int]:
        """(conversation id, turn id) -> where that turn sits in its conversation, for the conversations these
        memories come from: 0 for the conversation's first turn, then in the order they were said (valid time,
        then log position), turns that made no memory counted too (``TURN_POSITIONS``). Derived from the
        projection at read time, so a worker restart or a replay never leaves positions behind."""
        if not memory_ids:
            return {}
        return await self._positions(TURN_POSITIONS, {"ids": memory_ids, "app": app_id, "user": user_id})

    async def all_turn_positions(self, app_id: str, user_id: str) -> dict[tuple[str, str], int]:
        """``turn_positions`` for every conversation of the user (what ``api.turn_positions`` caches)."""
        return await self._positions(ALL_TURN_POSITIONS, {"app": app_id, "user": user_id})

    async def _positions(self, statement: str, params: dict[str, Any]) -> dict[tuple[str, str], int]:
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(statement, params)
            return {(str(row[0]), str(row[1])): int(row[2]) for row in await cur.fetchall()}

    async def history(self, memory_id: str, app_id: str, user_id: str) -> MemoryHistory:
        """Every state and text change of one memory, from its version rows, in log order."""
        await self.get(memory_id, app_id, user_id)  # 404 for an unknown id or another user's
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            # Versions carry no scope of their own: the join keeps them to the memory of this app and user
            # even if the memory was erased between the two statements.
            await cur.execute(
                "SELECT v.event_id, v.event_type, v.state, v.text, v.importance, v.pinned, v.valid_from, v.valid_to,"
                " v.known_at, v.causation_id, v.log_topic, v.log_partition, v.log_offset FROM memory_versions v"
                " JOIN memories m ON m.memory_id = v.memory_id"
                " WHERE v.memory_id = %s AND m.app_id = %s AND m.user_id = %s"
                " ORDER BY v.log_partition, v.log_offset",
                (memory_id, app_id, user_id),
            )
            rows = await cur.fetchall()
        return MemoryHistory(
            memory_id=memory_id,
            entries=[
                HistoryEntry(
                    event_id=r["event_id"],
                    event_type=r["event_type"],
                    state=r["state"],
                    text=r["text"],
                    importance=None if r["importance"] is None else float(r["importance"]),
                    pinned=r["pinned"],
                    valid_from=r["valid_from"],
                    valid_to=r["valid_to"],
                    known_at=r["known_at"],
                    causation_id=r["causation_id"],
                    log_position=f"{r['log_topic']}/{r['log_partition']}@{r['log_offset']}",
                )
                for r in rows
            ],
        )
