"""``MemstreamRetriever``: LangChain's ``BaseRetriever`` over memstream's hybrid search (dense, BM25, graph and
temporal retrievers fused), one user's memories.

Each hit is a ``Document`` whose ``page_content`` is the memory's text and whose ``id`` is the memory's id;
``metadata`` carries the rest of the hit: ``score`` (final), ``fused_score`` (RRF before re-ranking),
``retrievers`` (which retrievers found it, at which 1-based rank), ``memory_id``, ``state``, ``importance``,
``valid_from``/``valid_to`` (ISO 8601), ``source_turn_ids``, the memory's own ``memory_metadata`` and, for a
consolidation summary's hit, ``originals`` (id, text and rank of the archived originals that made it rank).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from memstream_client.async_client import AsyncMemstream
from memstream_client.client import Memstream
from memstream_client.models import SearchHit


class MemstreamRetriever(BaseRetriever):
    """``retriever.invoke("where do I live")``: the ``k`` best memories of ``user_id`` as Documents.

    ``client`` serves ``invoke``, ``async_client`` serves ``ainvoke`` (without it, ``ainvoke`` runs ``invoke`` in
    a thread); with neither, a ``Memstream()`` from the environment is made. ``filters`` is the API's search
    filters (``{"metadata": {...}, "states": [...], "occurred_after": ...}``); ``recipe`` a named search recipe.
    Reads wait for the client's own earlier writes of the user when ``read_your_writes`` (default True).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: Memstream | None = None
    async_client: AsyncMemstream | None = None
    user_id: str | None = None
    app_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    k: int = Field(default=5, ge=1, le=100)
    recipe: str | None = None
    filters: dict[str, Any] | None = None
    read_your_writes: bool = True

    def model_post_init(self, context: Any) -> None:
        if self.client is None and self.async_client is None:
            self.client = Memstream()

    def _search_arguments(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "app_id": self.app_id,
            "agent_id": self.agent_id,
            "run_id": self.run_id,
            "limit": self.k,
            "recipe": self.recipe,
            "filters": self.filters,
            "read_your_writes": self.read_your_writes,
        }

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        if self.client is None:
            raise RuntimeError("this retriever was given only an async_client: use ainvoke")
        return [document_of(hit) for hit in self.client.search(query, **self._search_arguments())]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.async_client is None:
            return await super()._aget_relevant_documents(query, run_manager=run_manager)
        found = await self.async_client.search(query, **self._search_arguments())
        return [document_of(hit) for hit in found]


def document_of(hit: SearchHit) -> Document:
    return Document(
        id=hit.id,
        page_content=hit.memory,
        metadata={
            "memory_id": hit.id,
            "score": hit.score,
            "fused_score": hit.fused_score,
            "retrievers": dict(hit.retrievers),
            "state": hit.state,
            "importance": hit.importance,
            "valid_from": hit.valid_from.isoformat(),
            "valid_to": hit.valid_to.isoformat() if hit.valid_to is not None else None,
            "source_turn_ids": list(hit.source_turn_ids),
            "memory_metadata": dict(hit.metadata),
            # A consolidation summary's hit: the archived originals that made it rank, in their own words.
            "originals": [{"id": o.id, "memory": o.memory, "rank": o.rank} for o in hit.originals],
        },
    )
