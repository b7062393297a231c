"""``GET /v1/sessions``: a user's conversation sessions (``conversation_sessions``, projected by PostgreSQL;
``memory.conversations.sessions`` says what a session is), numbered per conversation in time order, paged.

Numbers are each session's rank by start within its conversation (``session_order``'s order: start, end,
inferred before explicit, then the explicit id), computed here over the whole conversation before the page is
cut, so a page never renumbers. The scope (app and user) is in the WHERE clause: another tenant's sessions are
never read, and an unknown conversation is an empty page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.conversations.schemas import ConversationSession, ConversationSessions
from memory.contract.events import Scope

# One statement answers the page and the total; the LEFT JOIN keeps the total when the page is empty.
SESSIONS = """
WITH sessions AS (
  SELECT conversation_id, session_id, started_at, ended_at, turn_count,
         row_number() OVER (PARTITION BY conversation_id
                            ORDER BY started_at, ended_at, session_id IS NOT NULL, session_id) AS number
  FROM conversation_sessions
  WHERE app_id = %(app)s AND user_id = %(user)s
    AND (%(conversation)s::text IS NULL OR conversation_id = %(conversation)s)
)
SELECT (SELECT count(*) FROM sessions) AS total, page.*
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT * FROM sessions ORDER BY conversation_id, number LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
"""


@dataclass(frozen=True)
class SessionsQuery:
    """``scope``: what ``api.gateway.tenancy.authorize`` allowed; ``conversation_id`` None: every conversation."""

    scope: Scope
    conversation_id: str | None
    limit: int
    offset: int


async def read_sessions(pool: AsyncConnectionPool, query: SessionsQuery) -> ConversationSessions:
    params: dict[str, Any] = {
        "app": query.scope.app_id,
        "user": query.scope.user_id,
        "conversation": query.conversation_id,
        "limit": query.limit,
        "offset": query.offset,
    }
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SESSIONS, params)
        rows = await cur.fetchall()
    scope = query.scope
    return ConversationSessions(
        results=[session(scope, row) for row in rows if row["number"] is not None],
        total=int(rows[0]["total"]) if rows else 0,
        limit=query.limit,
        offset=query.offset,
    )


def session(scope: Scope, row: dict[str, Any]) -> ConversationSession:
    return ConversationSession(
        app_id=scope.app_id,
        user_id=scope.user_id,
        conversation_id=row["conversation_id"],
        number=int(row["number"]),
        session_id=row["session_id"],
        explicit=row["session_id"] is not None,
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        turn_count=int(row["turn_count"]),
    )
