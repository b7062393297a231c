"""The reads a search adds to answer archived originals through their summaries (memory.retrieval.through_summaries).

Two small queries, each only when it has something to do: the live summaries of the archived originals a search
ranked, and the archived originals of summaries that ranked on their own words. Both go through the
``summarizes`` lineage the PostgreSQL projection keeps (one row per original, indexed both ways).
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.filters import Visibility
from api.reader import SEARCH_COLUMNS

SUMMARIZES = "summarizes"


async def live_summaries(
    pool: AsyncConnectionPool, originals: list[str], shown: Visibility
) -> dict[str, dict[str, Any]]:
    """original id -> the row of its summary, for the originals whose summary the search may show (``shown``:
    the request's own visibility, scope included)."""
    if not originals:
        return {}
    visible, params = shown.sql("s")
    columns = ", ".join(f"s.{c.strip()}" for c in SEARCH_COLUMNS.split(","))
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT l.to_memory_id AS original_id, {columns} FROM memory_lineage l"
            " JOIN memories s ON s.memory_id = l.from_memory_id"
            f" WHERE l.relation = %s AND l.to_memory_id = ANY(%s) AND {visible}",
            [SUMMARIZES, originals, *params],
        )
        rows = await cur.fetchall()
    return {row.pop("original_id"): row for row in rows}


async def archived_originals(
    pool: AsyncConnectionPool, summaries: list[str], app_id: str, user_id: str
) -> dict[str, list[dict[str, Any]]]:
    """summary id -> its originals still archived (id, text, ...), in the order they were said."""
    if not summaries:
        return {}
    columns = ", ".join(f"o.{c.strip()}" for c in SEARCH_COLUMNS.split(","))
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT l.from_memory_id AS summary_id, {columns} FROM memory_lineage l"
            " JOIN memories o ON o.memory_id = l.to_memory_id"
            " WHERE l.relation = %s AND l.from_memory_id = ANY(%s) AND o.app_id = %s AND o.user_id = %s"
            " AND o.state = 'archived' ORDER BY o.valid_from, o.log_offset, o.memory_id",
            [SUMMARIZES, summaries, app_id, user_id],
        )
        rows = await cur.fetchall()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.pop("summary_id"), []).append(row)
    return found
