"""Dense retrieval: the query embedding against Milvus, filtered by scope, state and valid time."""

from __future__ import annotations

import asyncio
from typing import Any

from pymilvus import MilvusClient

from api.retrievers.base import SearchQuery
from memory.retrieval.recipes import Retriever
from memory.retrieval.scoring import Found

# Below this cosine a memory is not about the query (MiniLM puts unrelated sentences at 0.0-0.15 and
# paraphrases above 0.3): in a small store the nearest memories would otherwise fill the list with noise,
# which rank fusion cannot tell from a match.
MIN_SIMILARITY = 0.2


class DenseRetriever:
    kind = Retriever.DENSE

    def __init__(self, milvus: MilvusClient, collection: str):
        self._milvus = milvus
        self._collection = collection

    async def retrieve(self, query: SearchQuery) -> list[Found]:
        return await self.nearest(query)

    async def nearest(
        self, query: SearchQuery, start: Any = None, end: Any = None, min_similarity: float = MIN_SIMILARITY
    ) -> list[Found]:
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
        # COSINE: the distance is the similarity, higher is nearer.
        return [Found(hit["id"], float(hit["distance"])) for hit in result[0] if hit["distance"] >= min_similarity]
