"""Dense retrieval: the query embedding against Milvus, filtered by scope, state and valid time."""

from __future__ import annotations

import asyncio
from typing import Any

from pymilvus import MilvusClient

from api.retrievers.base import SearchQuery
from memory.recipes import Retriever


class DenseRetriever:
    kind = Retriever.DENSE

    def __init__(self, milvus: MilvusClient, collection: str):
        self._milvus = milvus
        self._collection = collection

    async def retrieve(self, query: SearchQuery) -> list[str]:
        return await self.nearest(query)

    async def nearest(self, query: SearchQuery, start: Any = None, end: Any = None) -> list[str]:
        """Nearest memories to the query vector, optionally only those valid in ``[start, end)``."""
        vector = await query.vector()
        if vector is None:
            return []
        result: Any = await asyncio.to_thread(
            self._milvus.search,
            self._collection,
            data=[vector.tolist()],
            filter=query.visibility.milvus(start, end),
            limit=query.limit,
            output_fields=["memory_id"],
        )
        return [hit["id"] for hit in result[0]]
