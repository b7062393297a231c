"""The API's answers as typed, immutable objects, with the API's field names.

Each ``from_json`` reads the fields it knows and ignores any others, so a newer API that adds a field does not
break an older client. Timestamps become aware ``datetime`` objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Json = dict[str, Any]

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: str) -> datetime:
    """RFC 3339 as the API writes it ('...Z', any number of fractional digits), readable by Python 3.10's
    ``fromisoformat`` too (which knows neither 'Z' nor fractions other than 3 or 6 digits)."""
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    return datetime.fromisoformat(text)


def _time_or_none(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Accepted:
    """A write the API accepted (202): it is applied asynchronously. Pass ``consistency_token`` to a read (or
    ``wait_for``) to see it; with ``read_your_writes`` the client does that for you."""

    status: str
    event_ids: list[str]
    consistency_token: str

    @classmethod
    def from_json(cls, data: Json) -> Accepted:
        return cls(data["status"], list(data["event_ids"]), data["consistency_token"])


@dataclass(frozen=True)
class AddResult(Accepted):
    """``add``: one event per message; ``positions`` are where they are on the log."""

    positions: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Json) -> AddResult:
        return cls(data["status"], list(data["event_ids"]), data["consistency_token"], list(data.get("positions", [])))


@dataclass(frozen=True)
class ErasureAccepted(Accepted):
    """``delete_all``: the user's erasure was accepted; ``erasure_id`` names its receipt
    (``GET /v1/erasures/{erasure_id}``)."""

    erasure_id: str = ""

    @classmethod
    def from_json(cls, data: Json) -> ErasureAccepted:
        return cls(data["status"], list(data["event_ids"]), data["consistency_token"], data["erasure_id"])


@dataclass(frozen=True)
class Memory:
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
    pinned: bool = False

    @classmethod
    def from_json(cls, data: Json) -> Memory:
        return cls(
            id=data["id"],
            memory=data["memory"],
            user_id=data["user_id"],
            app_id=data["app_id"],
            agent_id=data.get("agent_id"),
            run_id=data.get("run_id"),
            kind=data["kind"],
            state=data["state"],
            importance=float(data["importance"]),
            metadata=dict(data.get("metadata") or {}),
            source_turn_ids=list(data.get("source_turn_ids") or []),
            created_at=parse_time(data["created_at"]),
            updated_at=parse_time(data["updated_at"]),
            valid_from=parse_time(data["valid_from"]),
            valid_to=_time_or_none(data.get("valid_to")),
            embedding_model=data.get("embedding_model"),
            pinned=bool(data.get("pinned", False)),
        )


@dataclass(frozen=True)
class MemoryPage:
    """``get_all``: a page of a user's memories, newest first. Iterating yields the memories."""

    results: list[Memory]
    total: int
    limit: int
    offset: int

    def __iter__(self) -> Iterator[Memory]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @classmethod
    def from_json(cls, data: Json) -> MemoryPage:
        return cls([Memory.from_json(m) for m in data["results"]], data["total"], data["limit"], data["offset"])


@dataclass(frozen=True)
class SummaryOriginal:
    """An archived memory a consolidation summary stands for, listed under the summary's hit."""

    id: str
    memory: str
    valid_from: datetime
    metadata: dict[str, str]
    source_turn_ids: list[str]
    rank: int | None  # where it ranked in its own right; None: the summary ranked, this shares most of the words

    @classmethod
    def from_json(cls, data: Json) -> SummaryOriginal:
        rank = data.get("rank")
        return cls(
            id=data["id"],
            memory=data["memory"],
            valid_from=parse_time(data["valid_from"]),
            metadata=dict(data.get("metadata") or {}),
            source_turn_ids=list(data.get("source_turn_ids") or []),
            rank=None if rank is None else int(rank),
        )


@dataclass(frozen=True)
class SearchHit:
    id: str
    memory: str
    score: float  # fused relevance re-ranked by importance and recency
    fused_score: float  # the Reciprocal Rank Fusion score before re-ranking
    retrievers: dict[str, int]  # which retrievers found it, at which 1-based rank
    state: str
    importance: float
    metadata: dict[str, str]
    valid_from: datetime
    valid_to: datetime | None
    source_turn_ids: list[str]
    # A consolidation summary's hit: the archived originals that made it rank, best first.
    originals: list[SummaryOriginal] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Json) -> SearchHit:
        return cls(
            id=data["id"],
            memory=data["memory"],
            score=float(data["score"]),
            fused_score=float(data["fused_score"]),
            retrievers=dict(data.get("retrievers") or {}),
            state=data["state"],
            importance=float(data["importance"]),
            metadata=dict(data.get("metadata") or {}),
            valid_from=parse_time(data["valid_from"]),
            valid_to=_time_or_none(data.get("valid_to")),
            source_turn_ids=list(data.get("source_turn_ids") or []),
            originals=[SummaryOriginal.from_json(o) for o in data.get("originals") or []],
        )


@dataclass(frozen=True)
class TimeRange:
    """The time range read from a query ('last week'), which the temporal retriever filtered on."""

    expression: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def from_json(cls, data: Json) -> TimeRange:
        return cls(data["expression"], _time_or_none(data.get("start")), _time_or_none(data.get("end")))


@dataclass(frozen=True)
class TimeScope:
    """How the time a question names scoped the answer: ``kind`` "time" (hits only from the window, most
    informative first) or "time_and_topic" (the window's topic matches boosted); ``source`` "query" or "messages";
    ``said_order``: the hits from inside the window in the order they were said."""

    kind: str
    expression: str
    start: datetime | None
    end: datetime | None
    source: str
    said_order: list[str]

    @classmethod
    def from_json(cls, data: Json) -> TimeScope:
        return cls(
            data["kind"],
            data["expression"],
            _time_or_none(data.get("start")),
            _time_or_none(data.get("end")),
            data.get("source", "query"),
            list(data.get("said_order") or []),
        )


@dataclass(frozen=True)
class SearchResults:
    """``search``: the hits best first. Iterating yields the hits."""

    results: list[SearchHit]
    took_ms: float
    recipe: str
    cache_hit: bool
    time_range: TimeRange | None
    timings_ms: dict[str, float]
    time_scope: TimeScope | None = None

    def __iter__(self) -> Iterator[SearchHit]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @classmethod
    def from_json(cls, data: Json) -> SearchResults:
        time_range, time_scope = data.get("time_range"), data.get("time_scope")
        return cls(
            results=[SearchHit.from_json(h) for h in data["results"]],
            took_ms=float(data["took_ms"]),
            recipe=data.get("recipe", "hybrid"),
            cache_hit=bool(data.get("cache_hit", False)),
            time_range=TimeRange.from_json(time_range) if isinstance(time_range, dict) else None,
            timings_ms={k: float(v) for k, v in (data.get("timings_ms") or {}).items()},
            time_scope=TimeScope.from_json(time_scope) if isinstance(time_scope, dict) else None,
        )


@dataclass(frozen=True)
class Context:
    """``get_context``: a prompt-ready block within ``max_tokens`` (core memory blocks first when asked)."""

    context: str
    token_count: int
    max_tokens: int
    memory_ids: list[str]
    omitted: int  # memories that matched but did not fit the budget
    tokenizer: str
    block_labels: list[str]  # the core memory blocks included (include_blocks=True)

    def __str__(self) -> str:
        return self.context

    @classmethod
    def from_json(cls, data: Json) -> Context:
        return cls(
            context=data["context"],
            token_count=int(data["token_count"]),
            max_tokens=int(data["max_tokens"]),
            memory_ids=list(data.get("memory_ids") or []),
            omitted=int(data.get("omitted", 0)),
            tokenizer=data.get("tokenizer", ""),
            block_labels=list(data.get("block_labels") or []),
        )


@dataclass(frozen=True)
class HistoryEntry:
    event_id: str
    event_type: str
    state: str
    text: str
    importance: float | None
    pinned: bool | None
    valid_from: datetime  # valid time: since when this was true
    valid_to: datetime | None
    known_at: datetime  # known time: when the system learned it
    causation_id: str | None
    log_position: str

    @classmethod
    def from_json(cls, data: Json) -> HistoryEntry:
        importance = data.get("importance")
        return cls(
            event_id=data["event_id"],
            event_type=data["event_type"],
            state=data["state"],
            text=data["text"],
            importance=float(importance) if importance is not None else None,
            pinned=data.get("pinned"),
            valid_from=parse_time(data["valid_from"]),
            valid_to=_time_or_none(data.get("valid_to")),
            known_at=parse_time(data["known_at"]),
            causation_id=data.get("causation_id"),
            log_position=data["log_position"],
        )


@dataclass(frozen=True)
class MemoryHistory:
    memory_id: str
    entries: list[HistoryEntry]

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_json(cls, data: Json) -> MemoryHistory:
        return cls(data["memory_id"], [HistoryEntry.from_json(e) for e in data["entries"]])


@dataclass(frozen=True)
class Block:
    """A core memory block: ``persona`` and ``human`` always exist (empty, version 0, until written)."""

    label: str
    value: str
    limit: int  # in characters
    version: int
    updated_at: datetime | None  # None while never written
    app_id: str
    user_id: str
    agent_id: str | None  # None: the user's block, shared by all agents

    @classmethod
    def from_json(cls, data: Json) -> Block:
        return cls(
            label=data["label"],
            value=data["value"],
            limit=int(data["limit"]),
            version=int(data["version"]),
            updated_at=_time_or_none(data.get("updated_at")),
            app_id=data["app_id"],
            user_id=data["user_id"],
            agent_id=data.get("agent_id"),
        )


@dataclass(frozen=True)
class BlockWriteAccepted(Accepted):
    """A block edit the API accepted; ``block`` is the block as it will read once the edit is applied."""

    block: Block | None = None

    @classmethod
    def from_json(cls, data: Json) -> BlockWriteAccepted:
        return cls(data["status"], list(data["event_ids"]), data["consistency_token"], Block.from_json(data["block"]))


@dataclass(frozen=True)
class BlockVersion:
    version: int
    change: str  # created | appended | replaced | deleted | refused
    value: str
    limit: int
    reason: str | None  # why an edit was refused (change == "refused")
    event_id: str
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> BlockVersion:
        return cls(
            version=int(data["version"]),
            change=data["change"],
            value=data["value"],
            limit=int(data["limit"]),
            reason=data.get("reason"),
            event_id=data["event_id"],
            occurred_at=parse_time(data["occurred_at"]),
            recorded_at=parse_time(data["recorded_at"]),
        )


@dataclass(frozen=True)
class BlockHistory:
    label: str
    entries: list[BlockVersion]  # oldest first

    def __iter__(self) -> Iterator[BlockVersion]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_json(cls, data: Json) -> BlockHistory:
        return cls(data["label"], [BlockVersion.from_json(e) for e in data["entries"]])


@dataclass(frozen=True)
class ConversationTurn:
    """A hit of ``search_conversations``: a turn of the conversation log and its full-text ``rank``."""

    turn_id: str
    conversation_id: str
    role: str
    speaker: str | None
    text: str
    occurred_at: datetime
    rank: float

    @classmethod
    def from_json(cls, data: Json) -> ConversationTurn:
        return cls(
            turn_id=data["turn_id"],
            conversation_id=data["conversation_id"],
            role=data["role"],
            speaker=data.get("speaker"),
            text=data["text"],
            occurred_at=parse_time(data["occurred_at"]),
            rank=float(data.get("rank", 0.0)),
        )


@dataclass(frozen=True)
class ConversationPage:
    """``search_conversations``: turns of the conversation log, best match first, then newest."""

    results: list[ConversationTurn]
    page: int
    page_size: int
    total: int

    def __iter__(self) -> Iterator[ConversationTurn]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @classmethod
    def from_json(cls, data: Json) -> ConversationPage:
        return cls(
            [ConversationTurn.from_json(t) for t in data["results"]],
            int(data["page"]),
            int(data["page_size"]),
            int(data["total"]),
        )


@dataclass(frozen=True)
class ToolResult:
    """A memory tool's answer: ``text`` is what to hand back to the model, ``data`` the structured result."""

    name: str
    text: str
    data: Any
    consistency_token: str | None  # set for the tools that write

    def __str__(self) -> str:
        return self.text

    @classmethod
    def from_json(cls, data: Json) -> ToolResult:
        return cls(data["name"], data["text"], data.get("data"), data.get("consistency_token"))


@dataclass(frozen=True)
class LoggedTurn:
    """A turn of the conversation log as it was said (``conversation_turns``)."""

    turn_id: str
    conversation_id: str
    role: str  # user | assistant | system | tool
    speaker: str | None
    text: str
    metadata: dict[str, str]
    occurred_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> LoggedTurn:
        return cls(
            turn_id=data["turn_id"],
            conversation_id=data["conversation_id"],
            role=data["role"],
            speaker=data.get("speaker"),
            text=data["text"],
            metadata=dict(data.get("metadata") or {}),
            occurred_at=parse_time(data["occurred_at"]),
        )


@dataclass(frozen=True)
class ConversationLog:
    """``conversation_turns``: a page of one conversation's turns, oldest first (newest first when asked);
    ``total``: the conversation's length. Iterating yields the turns."""

    results: list[LoggedTurn]
    total: int
    limit: int
    offset: int

    def __iter__(self) -> Iterator[LoggedTurn]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @classmethod
    def from_json(cls, data: Json) -> ConversationLog:
        return cls(
            [LoggedTurn.from_json(t) for t in data["results"]],
            int(data["total"]),
            int(data["limit"]),
            int(data["offset"]),
        )


@dataclass(frozen=True)
class Session:
    """A session of a conversation (``GET /v1/sessions``): ``number`` 1 is the conversation's first, in time order.
    ``session_id`` is the producer's id of an explicit session, None for one inferred from a pause in the turns."""

    app_id: str
    user_id: str
    conversation_id: str
    number: int
    session_id: str | None
    explicit: bool
    started_at: datetime
    ended_at: datetime
    turn_count: int

    @classmethod
    def from_json(cls, data: Json) -> Session:
        return cls(
            app_id=data["app_id"],
            user_id=data["user_id"],
            conversation_id=data["conversation_id"],
            number=int(data["number"]),
            session_id=data.get("session_id"),
            explicit=bool(data["explicit"]),
            started_at=parse_time(data["started_at"]),
            ended_at=parse_time(data["ended_at"]),
            turn_count=int(data["turn_count"]),
        )


@dataclass(frozen=True)
class SessionPage:
    """A page of a user's sessions, by conversation then number; ``total``: how many in all. Iterating yields them."""

    results: list[Session]
    total: int
    limit: int
    offset: int

    def __iter__(self) -> Iterator[Session]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @classmethod
    def from_json(cls, data: Json) -> SessionPage:
        sessions = [Session.from_json(s) for s in data["results"]]
        return cls(sessions, int(data["total"]), int(data["limit"]), int(data["offset"]))
