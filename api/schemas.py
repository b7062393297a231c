"""Request and response bodies: typed structs, unknown fields rejected, limits stated in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

NonEmptyId = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:@\-]+$")]
Metadata = Annotated[dict[str, str], msgspec.Meta(max_length=50)]


class Message(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["user", "assistant", "system", "tool"]
    content: str
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class AddMemoriesRequest(msgspec.Struct, forbid_unknown_fields=True):
    user_id: NonEmptyId
    messages: Annotated[list[Message], msgspec.Meta(min_length=1, max_length=100)] | None = None
    text: str | None = None
    app_id: NonEmptyId = "default"
    agent_id: NonEmptyId | None = None
    run_id: NonEmptyId | None = None
    conversation_id: NonEmptyId | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)
    infer: bool = True
    occurred_at: datetime | None = None


class AddMemoriesResponse(msgspec.Struct):
    status: str
    event_ids: list[str]
    consistency_token: str
    positions: list[dict[str, int | str]]


class MemoryOut(msgspec.Struct):
    id: str
    memory: str
    user_id: str
    app_id: str
    agent_id: str | None
    run_id: str | None
    kind: str
    state: str
    importance: float
    metadata: dict[str, str]
    source_turn_ids: list[str]
    created_at: datetime
    updated_at: datetime
    valid_from: datetime
    valid_to: datetime | None
    embedding_model: str | None


class MemoryList(msgspec.Struct):
    results: list[MemoryOut]
    total: int
    limit: int
    offset: int


class SearchFilters(msgspec.Struct, forbid_unknown_fields=True):
    """Narrow the candidates: metadata equality, lifecycle states, and a valid-time window."""

    metadata: Metadata = msgspec.field(default_factory=dict)
    # Default: the searchable states (active, accessed, decaying).
    states: Annotated[list[str], msgspec.Meta(max_length=10)] | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: str
    user_id: NonEmptyId
    app_id: NonEmptyId = "default"
    agent_id: NonEmptyId | None = None
    run_id: NonEmptyId | None = None
    top_k: int = 10
    # A named, immutable recipe (memory.recipes): hybrid, dense, sparse, graph, temporal, no_graph, ...
    recipe: Annotated[str, msgspec.Meta(max_length=50)] = "hybrid"
    filters: SearchFilters | None = None
    # What "now" means for "last week" or "yesterday" in the query, and for recency. Default: now.
    reference_time: datetime | None = None
    # Valid time: what was true then. Known time: what the system knew then. Both default to now.
    as_of: datetime | None = None
    known_as_of: datetime | None = None
    # From an earlier write: wait until the projections have applied it (read your writes).
    consistency_token: str | None = None
    # False: neither read nor fill the hot cache (benchmarks, debugging).
    use_cache: bool = True
    # Also search consolidated (archived) originals; a hit there is recalled back to active.
    include_archived: bool = False


class SearchHit(msgspec.Struct):
    id: str
    memory: str
    # The final score: fused relevance re-ranked by importance and recency (memory.ranking).
    score: float
    # The Reciprocal Rank Fusion score before re-ranking.
    fused_score: float
    # Which retrievers found this memory, and at which 1-based rank.
    retrievers: dict[str, int]
    state: str
    importance: float
    metadata: dict[str, str]
    valid_from: datetime
    valid_to: datetime | None = None
    # The conversation turns it came from (a consolidation summary: all of its originals' turns).
    source_turn_ids: list[str] = msgspec.field(default_factory=list)


class TimeRangeOut(msgspec.Struct):
    expression: str
    start: datetime | None
    end: datetime | None


class SearchResponse(msgspec.Struct):
    results: list[SearchHit]
    took_ms: float
    recipe: str = "hybrid"
    cache_hit: bool = False
    # The time range read from the query, if any (what the temporal retriever filtered on).
    time_range: TimeRangeOut | None = None
    # Milliseconds each retriever took (they run concurrently), and the whole retrieval stage.
    timings_ms: dict[str, float] = msgspec.field(default_factory=dict)


class ContextRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: str
    user_id: NonEmptyId
    max_tokens: int
    app_id: NonEmptyId = "default"
    agent_id: NonEmptyId | None = None
    run_id: NonEmptyId | None = None
    recipe: Annotated[str, msgspec.Meta(max_length=50)] = "hybrid"
    filters: SearchFilters | None = None
    reference_time: datetime | None = None
    as_of: datetime | None = None
    known_as_of: datetime | None = None
    consistency_token: str | None = None


class ContextResponse(msgspec.Struct):
    context: str
    token_count: int
    max_tokens: int
    memory_ids: list[str]
    # Memories that matched but did not fit the budget.
    omitted: int
    tokenizer: str


class UpdateMemoryRequest(msgspec.Struct, forbid_unknown_fields=True):
    user_id: NonEmptyId
    app_id: NonEmptyId = "default"
    text: str | None = None
    pinned: bool | None = None


class CommandAccepted(msgspec.Struct):
    status: str
    event_ids: list[str]
    consistency_token: str


class HistoryEntry(msgspec.Struct):
    event_id: str
    event_type: str
    state: str
    text: str
    importance: float | None
    pinned: bool | None
    valid_from: datetime  # valid time: since when this was true
    valid_to: datetime | None
    known_at: datetime  # known time: when the system learned it
    causation_id: str | None  # the event (turn, command, decision) that caused this change
    log_position: str


class MemoryHistory(msgspec.Struct):
    memory_id: str
    entries: list[HistoryEntry]


class ErrorBody(msgspec.Struct):
    status_code: int
    detail: str
