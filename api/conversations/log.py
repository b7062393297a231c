"""One conversation's turns in the order they were said (``GET /v1/conversations/{conversation_id}/turns``):
the read a chat history needs (LangChain's ``BaseChatMessageHistory``, an agent's session), where
``search`` ranks by a query.

Turns of one request share ``occurred_at`` and ``recorded_at``; the API numbers them ``<request id>:<index>``
(``api.writer``), so the number after the last ':' orders them within a request (a producer's own turn ids
without one fall back to the turn id, then the event id: a stable order, if not the one said). Turns a memory
tool wrote are not conversation and are left out, as in the search. The scope is in the WHERE clause.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.conversations.schemas import ConversationTurn, ConversationTurns
from api.conversations.search import TOOL_METADATA_KEY
from memory.contract.events import Scope

TURNS = """
WITH turns AS (
  SELECT event_id, turn_id, conversation_id, role, speaker, text, metadata, occurred_at, recorded_at
  FROM conversation_turns
  WHERE app_id = %(app)s AND user_id = %(user)s AND conversation_id = %(conversation)s
    AND (%(agent)s::text IS NULL OR agent_id = %(agent)s)
    AND NOT metadata ? %(tool_key)s
)
SELECT (SELECT count(*) FROM turns) AS total, page.*
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT * FROM turns
  ORDER BY occurred_at, recorded_at,
           CASE WHEN turn_id ~ ':[0-9]{1,9}$' THEN substring(turn_id FROM ':([0-9]{1,9})$')::int END,
           turn_id, event_id
  LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
"""


async def read_turns(
    pool: AsyncConnectionPool, scope: Scope, conversation_id: str, limit: int, offset: int
) -> ConversationTurns:
    params: dict[str, Any] = {
        "app": scope.app_id,
        "user": scope.user_id,
        "agent": scope.agent_id,
        "conversation": conversation_id,
        "tool_key": TOOL_METADATA_KEY,
        "limit": limit,
        "offset": offset,
    }
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(TURNS, params)
        rows = await cur.fetchall()
    return ConversationTurns(
        results=[turn(row) for row in rows if row["event_id"] is not None],
        total=int(rows[0]["total"]) if rows else 0,
        limit=limit,
        offset=offset,
    )


def turn(row: dict[str, Any]) -> ConversationTurn:
    return ConversationTurn(
        turn_id=row["turn_id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        speaker=row["speaker"],
        text=row["text"],
        metadata={str(k): str(v) for k, v in (row["metadata"] or {}).items()},
        occurred_at=row["occurred_at"],
    )
