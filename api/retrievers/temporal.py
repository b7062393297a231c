"""Temporal retrieval: time expressions in the query become a valid-time range and a recency signal.

- "last week", "in May 2023", "3 days ago": memories valid in that range, nearest to the query first
  (dense within the range), or the newest first when the query says nothing else;
- "before the move": the move is located first (the best full-text match for "move"), then the range ends
  (or, with "after"/"since", starts) at its time;
- "a few days ago", "a while ago": the same within a wide range flagged vague, which the ranking only leans
  towards (memory.retrieval.scoring);
- "recently", "latest": matching memories, newest first (the vague range "recently" reads as is not used:
  ``TemporalIntent.ranking_range``);
- "when did ...": the answer is a time, so matching memories that say when (dates, "yesterday", "last
  week", weekdays...) rank first.
A query without any of these gets nothing from this retriever, so it never dilutes the fusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from api.retrievers.base import SearchQuery, or_tsquery
from api.retrievers.dense import DenseRetriever
from api.retrievers.sparse import SparseRetriever
from memory.language.time_expressions import TIME_CUE_PATTERN, TimeRange, range_around_anchor, without_time_words
from memory.retrieval.recipes import Retriever
from memory.retrieval.scoring import Found


class TemporalRetriever:
    kind = Retriever.TEMPORAL

    def __init__(self, pool: AsyncConnectionPool, dense: DenseRetriever, sparse: SparseRetriever):
        self._pool = pool
        self._dense = dense
        self._sparse = sparse

    async def retrieve(self, query: SearchQuery) -> list[Found]:
        intent = query.intent
        # Anchors ("before the move") were located when the query was prepared; "recently" is served below.
        span = intent.ranking_range
        topic = without_time_words(query.words())
        if span is not None:
            return await self.within(query, span, topic)
        if intent.wants_recent:
            return await self.newest(query, topic)
        if intent.asks_when and topic:
            return await self._sparse.matching(query, topic, "AND text ~* %s", (TIME_CUE_PATTERN,))
        return []

    async def locate_anchor(self, query: SearchQuery) -> TimeRange | None:
        intent = query.intent
        if intent.anchor is None or intent.anchor_direction is None:
            return None
        found = await self._sparse.matching(query, intent.anchor.split())
        if not found:
            return None
        async with self._pool.connection() as conn, conn.cursor() as cur:
            # Scoped like every read by id (the id came from a scoped search, but no lookup trusts that).
            seen = query.visibility
            await cur.execute(
                "SELECT valid_from FROM memories WHERE memory_id = %s AND app_id = %s AND user_id = %s",
                (found[0].memory_id, seen.app_id, seen.user_id),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        anchor_time: datetime = row[0]
        return range_around_anchor(anchor_time, intent.anchor_direction, f"{intent.anchor_direction} {intent.anchor}")

    async def within(self, query: SearchQuery, span: TimeRange, topic: list[str]) -> list[Found]:
        if topic and query.embedding is not None:
            # Inside the asked time range the range is the match: the vector only orders, with no floor.
            return await self._dense.nearest(query, span.start, span.end, min_similarity=-1.0)
        bounds, params = [], []
        if span.start is not None:
            bounds.append("AND valid_from >= %s")
            params.append(span.start)
        if span.end is not None:
            bounds.append("AND valid_from < %s")
            params.append(span.end)
        return await self._newest(query, " ".join(bounds), params)

    async def newest(self, query: SearchQuery, topic: list[str]) -> list[Found]:
        tsquery = or_tsquery(topic)
        if not tsquery:
            return await self._newest(query, "", [])
        return await self._newest(query, "AND tsv @@ to_tsquery('english', %s)", [tsquery])

    async def _newest(self, query: SearchQuery, extra_sql: str, extra_params: Sequence[object]) -> list[Found]:
        visible, params = query.visibility.sql()
        # Said later first: valid time, then log position (memory.retrieval.said_order), never the random id.
        sql = (
            f"SELECT memory_id FROM memories WHERE {visible} {extra_sql}"
            " ORDER BY valid_from DESC, coalesce(log_offset, -1) DESC, memory_id LIMIT %s"
        )
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(sql, [*params, *extra_params, query.limit])
            rows = await cur.fetchall()
        # Newest first: the score only orders (the more recent, the higher).
        return [Found(row[0], float(len(rows) - i)) for i, row in enumerate(rows)]
