"""``MemstreamMemory``: CrewAI's unified ``Memory`` whose memories live in memstream, per crew and per user.

CrewAI's own ``Memory`` calls an LLM to analyse what it stores (scope, categories, importance), to consolidate
near-duplicates and to plan deep recalls, and an embedder (OpenAI's by default) for its vector store. memstream
does that work on the server (embedding, hybrid search, importance and decay), so this subclass replaces exactly
the methods that would call a model or an embedder and keeps the rest of CrewAI's behaviour: the background save
pool with its read barrier, the save and query events, ``root_scope`` nesting, ``read_only``, scopes and slices.

- ``remember`` / ``remember_many`` (and their async variants): each text becomes one memstream memory, stored
  verbatim; the returned record has memstream's id once the memory is searchable.
- ``recall`` (both depths): memstream's hybrid search of the crew's memories; the match score is memstream's.
- ``extract_memories``: no LLM; the content is kept whole (memstream's search finds the fact inside it).
- ``update``: a memory's text only (memstream keeps its history); ``forget``, ``reset``, ``list_records``,
  ``info``, ``tree``, ``list_scopes``, ``list_categories``: CrewAI's own, on ``MemstreamStorage``.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Literal

from crewai.events.event_bus import crewai_event_bus
from crewai.events.types.memory_events import (
    MemoryQueryCompletedEvent,
    MemoryQueryFailedEvent,
    MemoryQueryStartedEvent,
)
from crewai.memory.types import MemoryMatch, MemoryRecord
from crewai.memory.unified_memory import Memory
from crewai.memory.utils import join_scope_paths
from pydantic import Field

from memstream_client.client import Memstream
from memstream_client.integrations.crewai.records import Draft, visible
from memstream_client.integrations.crewai.storage import CrewScope, MemstreamStorage

SOURCE_TYPE = "memstream"  # the events' source_type: CrewAI's own Memory says "unified_memory"
# memstream's ids (memory/contract/validation.py): checked when the memory is made, not at its first save.
ID = r"^[A-Za-z0-9_.:@\-]{1,200}$"


class MemstreamMemory(Memory):
    """A crew's memory in memstream: ``Crew(..., memory=MemstreamMemory(crew_id="research", user_id="alice"))``.

    ``crew_id`` is memstream's ``agent_id`` and ``user_id`` its user (leave it out with a key bound to one user):
    the API keeps crews and users apart. ``client`` is a ``Memstream`` (default: one from ``MEMSTREAM_API_KEY`` and
    ``MEMSTREAM_URL``). The other keyword arguments are CrewAI ``Memory``'s (``root_scope``, ``read_only``, ...);
    its ``llm`` and ``embedder`` are never used.
    """

    crew_id: str = Field(pattern=ID, description="The crew whose memory this is: memstream's agent_id.")
    user_id: str | None = Field(
        default=None, pattern=ID, description="The user: memstream's user_id (None: the key's own)."
    )
    app_id: str | None = Field(default=None, pattern=ID, description="The app (None: the credential's).")

    def __init__(
        self,
        *,
        crew_id: str,
        user_id: str | None = None,
        app_id: str | None = None,
        client: Memstream | None = None,
        **options: Any,
    ) -> None:
        scope = CrewScope(crew_id, user_id, app_id)
        storage = MemstreamStorage(client or Memstream(), scope, owns_client=client is None)
        # As a dict: mypy reads Memory's __init__ from its fields, which do not include this class's.
        fields: dict[str, Any] = {"crew_id": crew_id, "user_id": user_id, "app_id": app_id, "storage": storage}
        super().__init__(**fields, **options)

    def model_post_init(self, context: Any) -> None:
        # Built from a dict (a CrewAI checkpoint restored by model_validate), there is no storage yet: never let
        # CrewAI's default, a local LanceDB, stand in for memstream.
        if not isinstance(self.storage, MemstreamStorage):
            scope = CrewScope(self.crew_id, self.user_id, self.app_id)
            self.storage = MemstreamStorage(Memstream(), scope, owns_client=True)
        super().model_post_init(context)

    @property
    def memstream(self) -> MemstreamStorage:
        storage = self._storage
        assert isinstance(storage, MemstreamStorage)  # model_post_init made sure
        return storage

    # --- writing: Memory.remember and remember_many run this on their save pool, with their events ---------------

    def _encode_batch(
        self,
        contents: list[str],
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        root_scope: str | None = None,
    ) -> list[MemoryRecord]:
        """What CrewAI's EncodingFlow does with an LLM (scope, categories, importance inferred, consolidation),
        without one: the caller's scope under the root scope (``/`` if none), its categories and importance as
        given; memstream embeds, links and ranks each memory itself."""
        resolved = join_scope_paths(root_scope, scope) if root_scope else join_scope_paths(None, scope)
        drafts = [
            Draft(
                content=content,
                scope=resolved,
                categories=list(categories or []),
                metadata=dict(metadata or {}),
                importance=importance,
                source=source,
                private=private,
            )
            for content in contents
            if content.strip()  # memstream refuses an empty text; CrewAI's flow drops one too
        ]
        return self.memstream.store(drafts) if drafts else []

    def extract_memories(self, content: str) -> list[str]:
        """No LLM: the content is one memory (a task's description and result, when a crew saves one).
        memstream's search ranks what it says against each query, so splitting it into facts is not needed."""
        return [content.strip()] if content.strip() else []

    def update(
        self,
        record_id: str,
        content: str | None = None,
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
    ) -> MemoryRecord:
        """Correct a record's text. memstream keeps a memory's metadata as stored, so a new scope, categories,
        metadata or importance is refused (``ValueError``) rather than silently dropped."""
        unchangeable = [
            name
            for name, value in (
                ("scope", scope),
                ("categories", categories),
                ("metadata", metadata),
                ("importance", importance),
            )
            if value is not None
        ]
        if unchangeable:
            raise ValueError(
                f"memstream cannot change a stored memory's {', '.join(unchangeable)}: only its text (content=...);"
                " forget the record and remember it again instead"
            )
        existing = self.memstream.get_record(record_id)
        if existing is None:
            raise ValueError(f"Record not found: {record_id}")
        if self.read_only or content is None:
            return existing
        updated = existing.model_copy(update={"content": content, "last_accessed": datetime.now(timezone.utc)})
        self.memstream.update(updated)
        return updated

    # --- reading ---------------------------------------------------------------------------------------------

    def recall(
        self,
        query: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        limit: int = 10,
        depth: Literal["shallow", "deep"] = "deep",
        source: str | None = None,
        include_private: bool = False,
    ) -> list[MemoryMatch]:
        """memstream's hybrid search (dense, sparse, graph and temporal retrievers, fused and re-ranked) over the
        crew's memories, within ``scope`` under ``root_scope``. ``depth`` makes no difference: there is no LLM to
        plan sub-queries, and the shallow path's single vector search is what memstream's search improves on."""
        self.drain_writes()  # CrewAI's read barrier: what remember_many is still saving is found too
        effective_scope = join_scope_paths(self.root_scope, scope) if self.root_scope else scope
        crewai_event_bus.emit(
            self,
            MemoryQueryStartedEvent(query=query, limit=limit, score_threshold=None, source_type=SOURCE_TYPE),
        )
        start = time.perf_counter()
        try:
            # Scope prefixes, categories and privacy are filtered here, after the search: when they may drop
            # candidates, ask for three times as many (CrewAI's own storage oversamples the same way).
            filtered = bool(categories) or not include_private or bool(effective_scope and effective_scope.strip("/"))
            hits = self.memstream.search_text(query, effective_scope, limit * 3 if filtered else limit)
            results = [
                MemoryMatch(record=record, score=hit.score, match_reasons=sorted(hit.retrievers))
                for hit, record in hits
                if visible(record, source, include_private)
                and (not categories or any(c in record.categories for c in categories))
            ][:limit]
        except Exception as error:
            crewai_event_bus.emit(
                self,
                MemoryQueryFailedEvent(
                    query=query, limit=limit, score_threshold=None, error=str(error), source_type=SOURCE_TYPE
                ),
            )
            raise
        crewai_event_bus.emit(
            self,
            MemoryQueryCompletedEvent(
                query=query,
                results=results,
                limit=limit,
                score_threshold=None,
                query_time_ms=(time.perf_counter() - start) * 1000,
                source_type=SOURCE_TYPE,
            ),
        )
        return results
