"""The reads a search adds to answer archived originals through their summaries (memory.retrieval.through_summaries).

Two small queries, each only when it has something to do: the live summaries of the archived originals a search
ranked, and the archived originals of summaries that ranked on their own words. Both walk the ``summarizes``
lineage the PostgreSQL projection keeps (one row per original, indexed both ways), through summaries that were
consolidated again.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.filters import Visibility
from api.reader import SEARCH_COLUMNS

SUMMARIZES = "summarizes"
# A summary grows old too and is consolidated again, so an original may sit several summaries deep; the walks
# stop at this depth (each level takes up to eight memories: far more than any user's history).
MAX_DEPTH = 8

# From each archived original up its summaries to the nearest one the search may show.
_UP = """
WITH RECURSIVE up(original_id, summary_id, depth) AS (
  SELECT to_memory_id, from_memory_id, 1 FROM memory_lineage WHERE relation = %s AND to_memory_id = ANY(%s)
  UNION ALL
  SELECT up.original_id, l.from_memory_id, up.depth + 1 FROM up
  JOIN memory_lineage l ON l.relation = %s AND l.to_memory_id = up.summary_id
  WHERE up.depth < %s
)
SELECT DISTINCT ON (up.original_id) up.original_id, {columns} FROM up JOIN memories s ON s.memory_id = up.summary_id
WHERE {visible} ORDER BY up.original_id, up.depth
"""

# From each summary down to the archived memories it stands for that are not summaries themselves.
_DOWN = """
WITH RECURSIVE down(summary_id, memory_id, depth) AS (
  SELECT from_memory_id, to_memory_id, 1 FROM memory_lineage WHERE relation = %s AND from_memory_id = ANY(%s)
  UNION ALL
  SELECT down.summary_id, l.to_memory_id, down.depth + 1 FROM down
  JOIN memory_lineage l ON l.relation = %s AND l.from_memory_id = down.memory_id
  WHERE down.depth < %s
)
SELECT down.summary_id, {columns} FROM down JOIN memories o ON o.memory_id = down.memory_id
WHERE o.app_id = %s AND o.user_id = %s AND o.state = 'archived' AND o.kind <> 'summary'
ORDER BY o.valid_from, o.log_offset, o.memory_id
"""


def _columns(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in SEARCH_COLUMNS.split(","))


async def live_summaries(
    pool: AsyncConnectionPool, originals: list[str], shown: Visibility
) -> dict[str, dict[str, Any]]:
    """original id -> the row of the nearest summary above it that the search may show (``shown``: the request's
    own visibility, scope included); an original whose summaries are all archived or gone has none."""
    if not originals:
        return {}
    visible, params = shown.sql("s")
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _UP.format(columns=_columns("s"), visible=visible),
            [SUMMARIZES, originals, SUMMARIZES, MAX_DEPTH, *params],
        )
        rows = await cur.fetchall()
    return {row.pop("original_id"): row for row in rows}


async def archived_originals(
    pool: AsyncConnectionPool, summaries: list[str], app_id: str, user_id: str
) -> dict[str, list[dict[str, Any]]]:
    """summary id -> the archived memories it stands for, through any summaries below it, in the order they were
    said (the summaries in between are left out: they are digests too)."""
    if not summaries:
        return {}
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _DOWN.format(columns=_columns("o")),
            [SUMMARIZES, summaries, SUMMARIZES, MAX_DEPTH, app_id, user_id],
        )
        rows = await cur.fetchall()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.pop("summary_id"), []).append(row)
    return found
