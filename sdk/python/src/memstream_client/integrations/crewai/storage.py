"""``MemstreamStorage``: CrewAI's ``StorageBackend`` protocol on the memstream API, for one crew and one user.

The crew is memstream's ``agent_id`` and the user its ``user_id``, so the API itself keeps crews and users apart:
every call names both, and a key bound to one user cannot name another. CrewAI's scope paths, categories and
privacy live in each memory's metadata (``records``); memstream filters metadata by equality only, so scope
prefixes, categories and privacy are applied here, over the crew's memories or over the search's candidates.

Vector search by a query *embedding* is the one part of the protocol memstream does not offer: it embeds on the
server. ``MemstreamMemory.recall`` searches by the query's text instead (``search_text``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crewai.memory.types import MemoryRecord, ScopeInfo

from memstream_client.client import Memstream
from memstream_client.errors import NotFound
from memstream_client.integrations.crewai.records import (
    Draft,
    as_aware,
    batch_of,
    child_of,
    matches,
    record_from,
    stored_metadata,
    within,
)
from memstream_client.models import Memory, SearchHit

PAGE = 100  # the API's largest page (GET /v1/memories) and its largest add (100 messages)
MAX_CANDIDATES = 100  # the API's largest top_k
# A forgotten memory (deleted, or decayed away) is no longer the crew's record; ``get`` still answers for it (its
# history stays), the listing does not.
GONE_STATES = frozenset({"forgotten"})


@dataclass(frozen=True)
class CrewScope:
    """Whose memories: one crew (memstream's ``agent_id``) of one user, in an app (``None``: the key's own)."""

    crew_id: str
    user_id: str | None = None
    app_id: str | None = None


class MemstreamStorage:
    """CrewAI's storage protocol for one crew of one user. Every read waits for this client's earlier writes
    (read your writes), so a record remembered or forgotten is seen so by the next call."""

    def __init__(self, client: Memstream, scope: CrewScope, *, owns_client: bool = False) -> None:
        self.client = client
        self.scope = scope
        self.owns_client = owns_client  # close() closes only a client made for this storage, not the caller's

    def __deepcopy__(self, memo: dict[int, Any]) -> MemstreamStorage:
        # A copy of a memory holding this storage is the same crew's memory: the client (a connection pool with
        # locks, which cannot be deep-copied) is shared, as is the scope (immutable).
        return self

    # --- writing -----------------------------------------------------------------------------------------------

    def store(self, drafts: Sequence[Draft]) -> list[MemoryRecord]:
        """Store each draft as one memory, verbatim (``infer=False``: no extraction, the text is the memory), and
        return the records with the ids memstream gave them, once they are searchable."""
        stored: list[MemoryRecord] = []
        # One add per run of drafts that share their metadata (a remember_many batch does), at most a page long.
        for group in _groups(drafts):
            batch = str(uuid.uuid4())
            first = group[0]
            added = self.client.add(
                [{"role": "user", "content": d.content} for d in group],
                user_id=self.scope.user_id,
                app_id=self.scope.app_id,
                agent_id=self.scope.crew_id,
                metadata=stored_metadata(first, batch),
                infer=False,
            )
            self.client.wait_for(added.consistency_token, user_id=self.scope.user_id, app_id=self.scope.app_id)
            stored.extend(self._records_of_batch(batch, [d.content for d in group]))
        return stored

    def _records_of_batch(self, batch: str, contents: list[str]) -> list[MemoryRecord]:
        """The memories one add made, in the order of ``contents`` (memstream strips each text; it assigns ids
        from the events the API recorded, which the answer names only as events: the batch key finds them)."""
        by_text: dict[str, list[MemoryRecord]] = {}
        found = 0
        for memory in self._memories():  # newest first: the batch is on the first page unless others wrote since
            if batch_of(memory) == batch:
                by_text.setdefault(memory.memory, []).append(record_from(memory))
                found += 1
                if found == len(contents):
                    break
        records = []
        for content in contents:
            candidates = by_text.get(content.strip())
            if not candidates:
                raise RuntimeError(
                    f"memstream accepted the memory {content[:60]!r} but does not list it for crew"
                    f" {self.scope.crew_id!r}: was it deleted or erased at once?"
                )
            records.append(candidates.pop(0))
        return records

    def save(self, records: list[MemoryRecord]) -> None:
        """The protocol's save: each record stored as a new memory (memstream gives it its own id)."""
        self.store([_draft_of(r) for r in records])

    def update(self, record: MemoryRecord) -> None:
        """The protocol's update: memstream corrects a memory's text (and keeps its history); its metadata, and so
        CrewAI's scope, categories and importance, stay as they were stored."""
        current = self.get_record(record.id)
        if current is None:
            raise ValueError(f"Record not found: {record.id}")
        if record.content != current.content:
            self.client.update(record.id, record.content, user_id=self.scope.user_id, app_id=self.scope.app_id)

    # --- reading -----------------------------------------------------------------------------------------------

    def _memories(self) -> Iterator[Memory]:
        """Every memory of this crew and user, newest first."""
        offset = 0
        while True:
            page = self.client.get_all(
                user_id=self.scope.user_id,
                app_id=self.scope.app_id,
                agent_id=self.scope.crew_id,
                limit=PAGE,
                offset=offset,
                read_your_writes=True,
            )
            yield from page.results
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return

    def _records(self, scope_prefix: str | None = None) -> list[MemoryRecord]:
        return [r for r in (record_from(m) for m in self._memories()) if within(r.scope, scope_prefix)]

    def get_record(self, record_id: str) -> MemoryRecord | None:
        try:
            memory = self.client.get(
                record_id, user_id=self.scope.user_id, app_id=self.scope.app_id, read_your_writes=True
            )
        except NotFound:
            return None
        # Another crew's memory (of the same user) is not this crew's record.
        if memory.agent_id != self.scope.crew_id or memory.state in GONE_STATES:
            return None
        return record_from(memory)

    def list_records(self, scope_prefix: str | None = None, limit: int = 200, offset: int = 0) -> list[MemoryRecord]:
        return self._records(scope_prefix)[offset : offset + limit]

    def search_text(self, query: str, scope_prefix: str | None, top_k: int) -> list[tuple[SearchHit, MemoryRecord]]:
        """memstream's hybrid search over this crew's memories: its best ``top_k`` (at most the API's 100), best
        first, those within ``scope_prefix`` kept."""
        results = self.client.search(
            query,
            user_id=self.scope.user_id,
            app_id=self.scope.app_id,
            agent_id=self.scope.crew_id,
            limit=max(1, min(top_k, MAX_CANDIDATES)),
            read_your_writes=True,
        )
        pairs = [(hit, record_from(hit)) for hit in results]
        return [(hit, record) for hit, record in pairs if within(record.scope, scope_prefix)]

    def search(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        raise NotImplementedError(
            "memstream embeds on the server and searches by text: recall through MemstreamMemory.recall(query)"
            " instead of searching the storage with an embedding"
        )

    def get_scope_info(self, scope: str) -> ScopeInfo:
        path = "/" + scope.strip("/") if scope.strip("/") else "/"
        records = self._records(path)
        times = [as_aware(r.created_at) for r in records]
        children = {child for r in records if (child := child_of(r.scope, path)) is not None}
        return ScopeInfo(
            path=path,
            record_count=len(records),
            categories=sorted({c for r in records for c in r.categories}),
            oldest_record=min(times, default=None),
            newest_record=max(times, default=None),
            child_scopes=sorted(children),
        )

    def list_scopes(self, parent: str = "/") -> list[str]:
        return self.get_scope_info(parent).child_scopes

    def list_categories(self, scope_prefix: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self._records(scope_prefix):
            for category in record.categories:
                counts[category] = counts.get(category, 0) + 1
        return counts

    def count(self, scope_prefix: str | None = None) -> int:
        return len(self._records(scope_prefix))

    # --- forgetting --------------------------------------------------------------------------------------------

    def delete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        """Forget the crew's records that match every criterion given; how many were forgotten."""
        wanted = set(record_ids) if record_ids is not None else None
        doomed = [
            r
            for r in self._records(scope_prefix)
            if (wanted is None or r.id in wanted) and matches(r, categories, metadata_filter, older_than)
        ]
        for record in doomed:
            self.client.delete(record.id, user_id=self.scope.user_id, app_id=self.scope.app_id)
        return len(doomed)

    def reset(self, scope_prefix: str | None = None) -> None:
        """Forget every record of this crew (within ``scope_prefix``). Only this crew's: the user's other memories
        stay (erasing a whole user is ``Memstream.delete_all``, with an admin key)."""
        self.delete(scope_prefix=scope_prefix)

    def close(self) -> None:
        if self.owns_client:
            self.client.close()

    # --- the protocol's async variants: the sync calls, on a worker thread -------------------------------------

    async def asave(self, records: list[MemoryRecord]) -> None:
        await asyncio.to_thread(self.save, records)

    async def asearch(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        return self.search(query_embedding, scope_prefix, categories, metadata_filter, limit, min_score)

    async def adelete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        return await asyncio.to_thread(self.delete, scope_prefix, categories, record_ids, older_than, metadata_filter)


def _groups(drafts: Sequence[Draft]) -> Iterator[list[Draft]]:
    """Runs of consecutive drafts with the same metadata, each at most a page long."""
    group: list[Draft] = []
    for draft in drafts:
        if group and (len(group) == PAGE or _key(group[0]) != _key(draft)):
            yield group
            group = []
        group.append(draft)
    if group:
        yield group


def _key(draft: Draft) -> tuple[object, ...]:
    return (draft.scope, draft.categories, draft.metadata, draft.importance, draft.source, draft.private)


def _draft_of(record: MemoryRecord) -> Draft:
    return Draft(
        content=record.content,
        scope=record.scope,
        categories=list(record.categories),
        metadata=dict(record.metadata),
        importance=record.importance,
        source=record.source,
        private=record.private,
    )
