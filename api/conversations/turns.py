"""A conversation's turns in the order they were said, for clients that keep a chat history in the log
(the SDK's framework sessions: LangChain's message history, the OpenAI Agents SDK's ``Session``).

The order is the order of writing: ``occurred_at`` (the request's time, or the one the caller gave), then
``recorded_at``, then the position within one request (``api.writer`` names a request's turns
``<request id>:<index>``, all with the same times). Turns whose id has another shape (written by
``memstream produce``) fall back to their id. The scope (app, user, and agent when given) is in the WHERE
clause, like the full-text search's: another tenant's conversation of the same id is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.conversations.schemas import ConversationTurn, TurnList
from memory.contract.events import Scope

# The position within a request, as a number ("…:10" comes after "…:9"); NULL for any other shape of id.
_ORDER = """occurred_at {d}, recorded_at {d}, split_part(turn_id, ':', 1) {d},
  (CASE WHEN split_part(turn_id, ':', 2) ~ '^[0-9]{{1,6}}$' THEN split_part(turn_id, ':', 2)::int END) {d},
  turn_id {d}, event_id {d}"""

TURNS = """
SELECT turn_id, conversation_id, role, speaker, text, metadata, occurred_at
FROM conversation_turns
WHERE app_id = %(app)s AND user_id = %(user)s AND conversation_id = %(conversation)s
  AND (%(agent)s::text IS NULL OR agent_id = %(agent)s)
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s
"""
OLDEST_FIRST = TURNS.format(order=_ORDER.format(d="ASC"))
NEWEST_FIRST = TURNS.format(order=_ORDER.format(d="DESC"))


@dataclass(frozen=True)
class TurnsQuery:
    """``scope``: what ``api.gateway.tenancy.authorize`` allowed."""

    scope: Scope
    conversation_id: str
    limit: int
    offset: int
    newest_first: bool


async def read_turns(pool: AsyncConnectionPool, query: TurnsQuery) -> TurnList:
    params: dict[str, Any] = {
        "app": query.scope.app_id,
        "user": query.scope.user_id,
        "agent": query.scope.agent_id,
        "conversation": query.conversation_id,
        "limit": query.limit,
        "offset": query.offset,
    }
    statement = NEWEST_FIRST if query.newest_first else OLDEST_FIRST
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, params)
        rows = await cur.fetchall()
    return TurnList(turns=[turn(row) for row in rows], limit=query.limit, offset=query.offset)


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
