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


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: str
    user_id: NonEmptyId
    app_id: NonEmptyId = "default"
    agent_id: NonEmptyId | None = None
    run_id: NonEmptyId | None = None
    top_k: int = 10
    # Valid time: what was true then. Known time: what the system knew then. Both default to now.
    as_of: datetime | None = None
    known_as_of: datetime | None = None
    # From an earlier write: wait until the projections have applied it (read your writes).
    consistency_token: str | None = None


class SearchHit(msgspec.Struct):
    id: str
    memory: str
    score: float
    retrievers: dict[str, int]
    state: str
    importance: float
    metadata: dict[str, str]
    valid_from: datetime


class SearchResponse(msgspec.Struct):
    results: list[SearchHit]
    took_ms: float


class ErrorBody(msgspec.Struct):
    status_code: int
    detail: str
