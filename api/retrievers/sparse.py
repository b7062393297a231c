"""Sparse retrieval: PostgreSQL full text (``ts_rank_cd`` over the English ``tsvector``).

Chosen over Milvus BM25 by measurement (bench/RESULTS.md): it finds exact names and rare words, needs no
second index, and shares the visibility conditions (states, metadata, bi-temporal history) with the row
fetch.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from api.retrievers.base import SearchQuery, or_tsquery
from memory.recipes import Retriever


class SparseRetriever:
    kind = Retriever.SPARSE

    def __init__(self, pool: AsyncConnectionPool):
        self._pool = pool

    async def retrieve(self, query: SearchQuery) -> list[str]:
        return await self.matching(query, query.words())

    async def matching(
        self, query: SearchQuery, words: list[str], extra_sql: str = "", extra_params: tuple[Any, ...] = ()
    ) -> list[str]:
        """Memories matching any of ``words``, best ``ts_rank_cd`` first (ties: newest first)."""
        tsquery = or_tsquery(words)
        if not tsquery:
            return []
        visible, params = query.visibility.sql()
        sql = (
            f"SELECT memory_id FROM to_tsquery('english', %s) q, memories WHERE {visible} AND tsv @@ q {extra_sql}"
            " ORDER BY ts_rank_cd(tsv, q) DESC, valid_from DESC, memory_id LIMIT %s"
        )
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(sql, [tsquery, *params, *extra_params, query.limit])
            return [row[0] for row in await cur.fetchall()]
