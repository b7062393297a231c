"""Search: dense (Milvus) and sparse (PostgreSQL full text) retrievers run concurrently, fused with RRF.

The retrievers return ranked memory ids only; rows come from PostgreSQL afterwards, filtered by scope a
second time, so a retriever bug can never show one user another user's memory.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool
from pymilvus import MilvusClient

from api.errors import InvalidRequest
from api.reader import MemoryReader
from api.schemas import SearchHit, SearchRequest, SearchResponse
from memory.fusion import reciprocal_rank_fusion
from memory.lifecycle import SEARCHABLE_BY_DEFAULT
from models.embedder import Embedder

MAX_TOP_K = 100
MAX_QUERY_CHARS = 2_000
CANDIDATES_PER_RETRIEVER = 50
_WORD = re.compile(r"[A-Za-z0-9]+")
_SEARCHABLE = sorted(s.value for s in SEARCHABLE_BY_DEFAULT)


def _milvus_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope_filter(body: SearchRequest) -> str:
    parts = [f"app_id == {_milvus_str(body.app_id)}", f"user_id == {_milvus_str(body.user_id)}"]
    if body.agent_id is not None:
        parts.append(f"agent_id == {_milvus_str(body.agent_id)}")
    if body.run_id is not None:
        parts.append(f"run_id == {_milvus_str(body.run_id)}")
    if body.as_of is None and body.known_as_of is None:
        parts.append("state in [" + ",".join(_milvus_str(s) for s in _SEARCHABLE) + "]")
    else:
        # Time travel: today's state says nothing about then; PostgreSQL's history decides visibility.
        parts.append(f"state != {_milvus_str('extracted')}")
    if body.as_of is not None:
        parts.append(f"occurred_at <= {int(body.as_of.timestamp() * 1000)}")
    return " and ".join(parts)


def temporal_sql(body: SearchRequest, alias: str = "memories") -> tuple[str, list[Any]]:
    """Visibility in PostgreSQL: the searchable states now, or — with ``as_of``/``known_as_of`` — what was
    valid at ``as_of`` and had reached a searchable state by ``known_as_of`` in the version history."""
    if body.as_of is None and body.known_as_of is None:
        return f"{alias}.state = ANY(%s)", [_SEARCHABLE]
    as_of = body.as_of or datetime.now(UTC)
    known = body.known_as_of or datetime.now(UTC)
    sql = (
        f"{alias}.valid_from <= %s AND ({alias}.valid_to IS NULL OR {alias}.valid_to > %s)"
        f" AND {alias}.known_from <= %s AND {alias}.state <> 'forgotten' AND EXISTS (SELECT 1 FROM memory_versions v"
        f" WHERE v.memory_id = {alias}.memory_id AND v.known_at <= %s AND v.state = ANY(%s))"
    )
    return sql, [as_of, as_of, known, known, _SEARCHABLE]


def or_tsquery(query: str) -> str:
    """Any word may match (ranked by how many and how close), unlike websearch_to_tsquery's AND."""
    return " | ".join(dict.fromkeys(w.lower() for w in _WORD.findall(query)))


class SearchService:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        milvus: MilvusClient,
        collection: str,
        embedder: Embedder,
        reader: MemoryReader,
    ):
        self._pool = pool
        self._milvus = milvus
        self._collection = collection
        self._embedder = embedder
        self._reader = reader

    @staticmethod
    def validate(body: SearchRequest) -> None:
        if not body.query.strip():
            raise InvalidRequest("query is empty")
        if len(body.query) > MAX_QUERY_CHARS:
            raise InvalidRequest(f"query has {len(body.query)} characters; the limit is {MAX_QUERY_CHARS}")
        if not 1 <= body.top_k <= MAX_TOP_K:
            raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}, got {body.top_k}")

    async def search(self, body: SearchRequest) -> SearchResponse:
        self.validate(body)
        started = time.perf_counter()
        dense, sparse = await asyncio.gather(self._dense(body), self._sparse(body))
        fused = reciprocal_rank_fusion({"dense": dense, "sparse": sparse})
        visible, visible_params = temporal_sql(body)
        rows = await self._reader.fetch_many(
            [h.memory_id for h in fused], body.app_id, body.user_id, visible, visible_params
        )
        hits = []
        for hit in fused:
            row = rows.get(hit.memory_id)
            if row is None:
                continue  # not yet (or no longer) visible in PostgreSQL: never show half-projected memories
            hits.append(
                SearchHit(
                    id=hit.memory_id,
                    memory=row["text"],
                    score=round(hit.score, 6),
                    retrievers=hit.ranks,
                    state=row["state"],
                    importance=float(row["importance"]),
                    metadata={str(k): str(v) for k, v in (row["metadata"] or {}).items()},
                    valid_from=row["valid_from"],
                )
            )
            if len(hits) == body.top_k:
                break
        return SearchResponse(results=hits, took_ms=round((time.perf_counter() - started) * 1000, 2))

    async def _dense(self, body: SearchRequest) -> list[str]:
        vector = (await asyncio.to_thread(self._embedder.embed, [body.query]))[0]
        result: Any = await asyncio.to_thread(
            self._milvus.search,
            self._collection,
            data=[vector.tolist()],
            filter=scope_filter(body),
            limit=CANDIDATES_PER_RETRIEVER,
            output_fields=["memory_id"],
        )
        return [hit["id"] for hit in result[0]]

    async def _sparse(self, body: SearchRequest) -> list[str]:
        tsquery = or_tsquery(body.query)
        if not tsquery:
            return []
        visible, visible_params = temporal_sql(body)
        where = ["app_id = %s", "user_id = %s", visible, "tsv @@ q"]
        params: list[Any] = [tsquery, body.app_id, body.user_id, *visible_params]
        if body.agent_id is not None:
            where.append("agent_id = %s")
            params.append(body.agent_id)
        if body.run_id is not None:
            where.append("run_id = %s")
            params.append(body.run_id)
        sql = (
            "SELECT memory_id FROM to_tsquery('english', %s) q, memories WHERE "
            + " AND ".join(where)
            + " ORDER BY ts_rank_cd(tsv, q) DESC, memory_id LIMIT %s"
        )
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(sql, [*params, CANDIDATES_PER_RETRIEVER])
            return [row[0] for row in await cur.fetchall()]
