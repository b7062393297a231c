"""One conversation's turns in the order they were said (``GET /v1/conversations/{conversation_id}/turns``):
the ordered read a chat history needs (LangChain's ``BaseChatMessageHistory``, the OpenAI Agents SDK's
``Session``), where ``search`` ranks by a query.

The order is the order of writing: ``occurred_at`` (the request's time, or the one the caller gave), then
``recorded_at``, then the position within one request (``api.writer`` names a request's turns
``<request id>:<index>``, all with the same times; "…:10" comes after "…:9"). Turns whose id has another shape
(written by ``memstream produce``) fall back to their id, then the event id: a stable order, if not the one said.
Turns a memory tool wrote are not conversation and are left out, as in the search. The scope (app, user, and
agent when given) is in the WHERE clause: another tenant's conversation of the same id is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.conversations.schemas import ConversationTurn, ConversationTurns
from memory.contract.events import Scope
from memory.conversations.sessions import TOOL_METADATA_KEY

_ORDER = """occurred_at {d}, recorded_at {d},
  (CASE WHEN turn_id ~ ':[0-9]{{1,9}}$' THEN substring(turn_id FROM ':([0-9]{{1,9}})$')::int END) {d},
  turn_id {d}, event_id {d}"""

# One statement answers the page and the conversation's length; the LEFT JOIN keeps the count when the page is
# empty (an offset past the end).
_TURNS = """
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
  SELECT * FROM turns ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
"""
OLDEST_FIRST = _TURNS.format(order=_ORDER.format(d="ASC"))
NEWEST_FIRST = _TURNS.format(order=_ORDER.format(d="DESC"))


@dataclass(frozen=True)
class TurnsQuery:
    """``scope``: what ``api.gateway.tenancy.authorize`` allowed. ``newest_first``: read from the end (the last
    N turns: ``limit=N``, then reverse)."""

    scope: Scope
    conversation_id: str
    limit: int
    offset: int
    newest_first: bool = False


async def read_turns(pool: AsyncConnectionPool, query: TurnsQuery) -> ConversationTurns:
    params: dict[str, Any] = {
        "app": query.scope.app_id,
        "user": query.scope.user_id,
        "agent": query.scope.agent_id,
        "conversation": query.conversation_id,
        "tool_key": TOOL_METADATA_KEY,
        "limit": query.limit,
        "offset": query.offset,
    }
    statement = NEWEST_FIRST if query.newest_first else OLDEST_FIRST
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, params)
        rows = await cur.fetchall()
    return ConversationTurns(
        results=[turn(row) for row in rows if row["event_id"] is not None],
        total=int(rows[0]["total"]) if rows else 0,
        limit=query.limit,
        offset=query.offset,
    )


def turn(row: dict[str, Any]) -> ConversationTurn:
    return ConversationTurn(
        turn_id=row["turn_id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        speaker=row["speaker"],
        text=row["text"],
        metadata={str(key): str(value) for key, value in (row["metadata"] or {}).items()},
        occurred_at=row["occurred_at"],
    )
