"""Reads of the projected blocks (``core_blocks``, ``core_block_versions``), always scoped by app, user, agent.

A block is shown as ``memory.blocks.rules`` defines it: ``persona`` and ``human`` always (the implicit empty
default until written, and again after a delete), other labels only while written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from api.blocks.schemas import BlockHistory, BlockHistoryEntry, BlockOut
from memory.blocks.rules import DEFAULT_LABELS, DEFAULT_LIMIT, BlockView, unwritten, view
from memory.contract.events import Scope

CURRENT = """
SELECT label, value, char_limit, version, written, updated_at FROM core_blocks
WHERE app_id = %s AND user_id = %s AND agent_id = %s AND (%s::text IS NULL OR label = %s)
"""
# As of a valid time: each label's latest change at or before it (a refused edit changed nothing).
AS_OF = """
SELECT DISTINCT ON (label) label, value, char_limit, version, written, valid_from FROM core_block_versions
WHERE app_id = %s AND user_id = %s AND agent_id = %s AND (%s::text IS NULL OR label = %s)
  AND change <> 'refused' AND valid_from <= %s
ORDER BY label, version DESC
"""
HISTORY = """
SELECT version, change, value, char_limit, reason, event_id, valid_from, known_at FROM core_block_versions
WHERE app_id = %s AND user_id = %s AND agent_id = %s AND label = %s
ORDER BY log_partition, log_offset, event_id
"""


@dataclass(frozen=True)
class StoredRow:
    label: str
    value: str
    limit: int
    version: int
    written: bool
    updated_at: datetime

    def view(self) -> BlockView:
        return view(self.label, self.value, self.limit, self.version, self.written)


def agent_key(scope: Scope) -> str:
    return scope.agent_id or ""


def block_out(scope: Scope, label: str, row: StoredRow | None) -> BlockOut:
    written = row is not None and row.written
    return BlockOut(
        label=label,
        value=row.value if row is not None and written else "",
        limit=row.limit if row is not None and written else DEFAULT_LIMIT,
        version=row.version if row is not None and written else 0,
        updated_at=row.updated_at if row is not None and written else None,
        app_id=scope.app_id,
        user_id=scope.user_id,
        agent_id=scope.agent_id,
    )


def shown(scope: Scope, rows: dict[str, StoredRow]) -> list[BlockOut]:
    """persona and human first, then every written label by name."""
    others = sorted(label for label, row in rows.items() if row.written and label not in DEFAULT_LABELS)
    return [block_out(scope, label, rows.get(label)) for label in (*DEFAULT_LABELS, *others)]


class BlockReader:
    def __init__(self, pool: AsyncConnectionPool):
        self._pool = pool

    async def rows(self, scope: Scope, label: str | None = None, as_of: datetime | None = None) -> dict[str, StoredRow]:
        key = (scope.app_id, scope.user_id, agent_key(scope), label, label)
        async with self._pool.connection() as conn, conn.cursor() as cur:
            if as_of is None:
                await cur.execute(CURRENT, key)
            else:
                await cur.execute(AS_OF, (*key, as_of))
            found = await cur.fetchall()
        return {r[0]: StoredRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in found}

    async def current_view(self, scope: Scope, label: str) -> BlockView:
        """The block an edit is checked against."""
        row = (await self.rows(scope, label)).get(label)
        return row.view() if row is not None else unwritten(label)

    async def history(self, scope: Scope, label: str) -> BlockHistory:
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(HISTORY, (scope.app_id, scope.user_id, agent_key(scope), label))
            found = await cur.fetchall()
        entries: list[BlockHistoryEntry] = []
        value, limit = "", DEFAULT_LIMIT
        for version, change, row_value, row_limit, reason, event_id, occurred_at, recorded_at in found:
            if change != "refused":  # a refusal's row holds no block: it left the block as the entry before
                value, limit = row_value, row_limit
            entries.append(BlockHistoryEntry(version, change, value, limit, reason, event_id, occurred_at, recorded_at))
        return BlockHistory(label=label, entries=entries)
