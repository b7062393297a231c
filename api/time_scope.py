"""The reads behind a time-scoped search (``memory.retrieval.time_scope`` decides; this module only reads).

- ``session_times``: the user's sessions (``conversation_sessions``, projected by PostgreSQL) that started by the
  reference time, in start order, for ``memory.retrieval.session_windows`` to resolve "our last session" against.
  The scope (app and user) is in the WHERE clause: another user's sessions never resolve.
- ``window_members``: every visible memory of the user inside a window, said order (the question about a time
  alone ranks the whole window, not only what the retrievers happened to find), up to ``WINDOW_CAP``.
"""

from __future__ import annotations

from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from api.filters import Visibility
from memory.language.time_expressions import TimeRange
from memory.retrieval.session_windows import StoredSession

SESSION_TIMES = """
SELECT started_at, ended_at FROM conversation_sessions
WHERE app_id = %s AND user_id = %s AND started_at <= %s
ORDER BY started_at, ended_at
"""
# A day of heavy chat is a few hundred memories; past this many, the first said of the window are ranked.
WINDOW_CAP = 1_000


async def session_times(pool: AsyncConnectionPool, app_id: str, user_id: str, until: datetime) -> list[StoredSession]:
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(SESSION_TIMES, (app_id, user_id, until))
        return [StoredSession(row[0], row[1]) for row in await cur.fetchall()]


async def window_members(pool: AsyncConnectionPool, seen: Visibility, span: TimeRange) -> list[str]:
    visible, params = seen.sql()
    bounds, values = [], []
    if span.start is not None:
        bounds.append("AND valid_from >= %s")
        values.append(span.start)
    if span.end is not None:
        bounds.append("AND valid_from < %s")
        values.append(span.end)
    sql = (
        f"SELECT memory_id FROM memories WHERE {visible} {' '.join(bounds)}"
        " ORDER BY valid_from, coalesce(log_offset, -1), memory_id LIMIT %s"
    )
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(sql, [*params, *values, WINDOW_CAP])
        return [str(row[0]) for row in await cur.fetchall()]
