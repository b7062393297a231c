"""Request and response bodies: typed structs, unknown fields rejected, limits from ``memory.contract.validation``.

What a struct can check alone it checks while decoding (a 400 naming the field); text, whose limit is a
setting, is checked by the writer. Both use ``memory.contract.validation``, the definition extraction applies too.

Every rule a later check enforces is also *stated* in the OpenAPI schema (``stated``): a request the schema
admits is never refused for a limit the schema does not name, and a fuzzer knows what to send.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from memory.contract.positions import MAX_TOKEN_CHARS, VERSION_PREFIX
from memory.contract.validation import (
    EARLIEST,
    ID_PATTERN,
    LATEST,
    MAX_ID_CHARS,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_NAME_CHARS,
    METADATA_KEY_PATTERN,
    METADATA_VALUE_PATTERN,
    NAME_PATTERN,
    TEXT_PATTERN,
    InvalidInput,
    check_metadata,
    check_timestamp,
)
from memory.lifecycle.machine import RETIRED_STATE_NAMES, MemoryState
from memory.retrieval.context_budget import MAX_TOKENS, MIN_TOKENS
from memory.retrieval.recipes import RECIPES

MAX_TOP_K = 100
MAX_QUERY_CHARS = 2_000
# The recent conversation a search may carry (``messages``): a time named there scopes the question
# (memory.retrieval.time_scope). As many turns as an agent keeps in view, each as long as a query.
MAX_SEARCH_MESSAGES = 50
# RFC 3339 (as api.json_body checks it) with the year inside memory.contract.validation's window (1900..2999 UTC). A
# local time on 1900-01-01 with a positive offset (or on 2999-12-31 with a negative one) can still fall outside
# in UTC: check_timestamp's refusal names it, and the schema states the exact window in the description.
TIMESTAMP_PATTERN = (
    r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$(?!\n)"
)
assert (EARLIEST.year, LATEST.year) == (1900, 2999), "TIMESTAMP_PATTERN spells the window's years"
# The shape of the opaque value a write returns; only a token this API signed is accepted (memory.contract.positions).
# Empty is the same as absent: no waiting.
TOKEN_PATTERN = "^(" + VERSION_PREFIX.replace(".", r"\.") + r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?$(?!\n)"


def stated(description: str | None = None, **schema: object) -> msgspec.Meta:
    """OpenAPI keywords (``maxLength``, ``pattern``, ``enum``...) that msgspec does not enforce while decoding,
    because a later check refuses the same values with a message naming the field and the problem."""
    extra: dict[str, object] = {"extra": schema}
    if description is not None:
        extra["description"] = description
    return msgspec.Meta(extra_json_schema=extra)


Text = Annotated[str, stated("not blank; no control characters but tab and line breaks", pattern=TEXT_PATTERN)]
Query = Annotated[
    str,
    stated(
        "what to search for: not blank, no control characters",
        minLength=1,
        maxLength=MAX_QUERY_CHARS,
        pattern=TEXT_PATTERN,
    ),
]
# The states a filter may name: the machine's, and the seed's retired names, read as memory.lifecycle.machine says.
STATE_NAMES = sorted([s.value for s in MemoryState] + list(RETIRED_STATE_NAMES))
# The same names as a type, so a query parameter's schema lists them (tests/unit check it equals STATE_NAMES).
StateName = Literal[
    "accessed",
    "active",
    "archived",
    "consolidating",
    "decaying",
    "embedding",
    "extracted",
    "forgotten",
    "recalled",
    "stored",
]
RecipeName = Annotated[str, stated("a named search recipe", enum=sorted(RECIPES))]
ConsistencyToken = Annotated[
    str,
    stated(
        "the consistency_token a write returned, unchanged: the read waits until that write is applied",
        maxLength=MAX_TOKEN_CHARS,
        pattern=TOKEN_PATTERN,
    ),
]

ID_RULE = "letters, digits and '_.:@-' only (no whitespace, no trailing newline)"
NonEmptyId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description=ID_RULE)
]
# Whose memories, and in which app (api.gateway.tenancy). The schema requires user_id (api.openapi says why).
USER_ID_DEFAULT = (
    "whose memories. A credential bound to one user (a user-bound API key, or a JWT: its sub) may leave it out,"
    " meaning its own user, and may name no other user (403); any other caller must name it (400 without)."
)
APP_ID_DEFAULT = (
    "the application's namespace. Omitted: the credential's app ('default' with authentication off). A"
    " credential may name only its own app (403)."
)
UserId = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description=f"{USER_ID_DEFAULT} Id: {ID_RULE}"
    ),
]
AppId = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description=f"{APP_ID_DEFAULT} Id: {ID_RULE}"
    ),
]
SessionId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="the session of the conversation these messages belong to (GET /v1/sessions). Omitted: the"
        f" session is inferred, a new one after a pause longer than the session gap. Id: {ID_RULE}",
    ),
]
Metadata = Annotated[
    dict[
        Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_METADATA_KEY_CHARS)],
        Annotated[str, msgspec.Meta(max_length=MAX_METADATA_VALUE_CHARS)],
    ],
    msgspec.Meta(
        max_length=MAX_METADATA_KEYS,
        description=f"at most {MAX_METADATA_KEYS} string pairs; keys up to {MAX_METADATA_KEY_CHARS} characters,"
        f" values up to {MAX_METADATA_VALUE_CHARS}; no control characters (values may hold tabs and line breaks)",
        extra_json_schema={
            "extra": {
                "maxProperties": MAX_METADATA_KEYS,
                "propertyNames": {"minLength": 1, "maxLength": MAX_METADATA_KEY_CHARS, "pattern": METADATA_KEY_PATTERN},
                "additionalProperties": {
                    "type": "string",
                    "maxLength": MAX_METADATA_VALUE_CHARS,
                    "pattern": METADATA_VALUE_PATTERN,
                },
            }
        },
    ),
]
# msgspec refuses a timestamp without a time zone (tz=True); the window is checked after decoding.
Timestamp = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description=f"ISO 8601 with a time zone ('Z' or '+02:00'); one without is refused (400), never read as"
        f" now or UTC. Between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
        extra_json_schema={"extra": {"pattern": TIMESTAMP_PATTERN}},
    ),
]


@contextmanager
def refused_as_invalid() -> Iterator[None]:
    """msgspec turns a ValueError raised in ``__post_init__`` into a ValidationError, which Litestar answers 400."""
    try:
        yield
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def check_timestamps(**moments: datetime | None) -> None:
    with refused_as_invalid():
        for field, moment in moments.items():
            check_timestamp(moment, field)


class Message(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["user", "assistant", "system", "tool"]
    content: Text
    name: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=MAX_NAME_CHARS,
                description="one line: no control characters",
                extra_json_schema={"extra": {"pattern": NAME_PATTERN}},
            ),
        ]
        | None
    ) = None


class AddMemoriesRequest(msgspec.Struct, forbid_unknown_fields=True):
    user_id: UserId | None = None
    messages: Annotated[list[Message], msgspec.Meta(min_length=1, max_length=100)] | None = None
    text: Text | None = None
    app_id: AppId | None = None
    agent_id: NonEmptyId | None = None
    run_id: NonEmptyId | None = None
    conversation_id: NonEmptyId | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)
    infer: bool = True
    # Absent: the time the API received the request.
    occurred_at: Timestamp | None = None
    session_id: SessionId | None = None

    def __post_init__(self) -> None:
        with refused_as_invalid():
            check_metadata(self.metadata)
        check_timestamps(occurred_at=self.occurred_at)


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
    pinned: bool = False  # set and cleared with PATCH {"pinned": ...}


class MemoryList(msgspec.Struct):
    results: list[MemoryOut]
    total: int
    limit: int
    offset: int


class SearchFilters(msgspec.Struct, forbid_unknown_fields=True):
    """Narrow the candidates: metadata equality, lifecycle states, and a valid-time window."""

    metadata: Metadata = msgspec.field(default_factory=dict)
    # Default: the searchable states (active, decaying, consolidating). "accessed" and "embedding", states the seed
    # drew but no memory was ever in, are read as active and extracted (memory.lifecycle.machine.RETIRED_STATE_NAMES).
    states: (
        Annotated[
            list[str],
            msgspec.Meta(
                max_length=10,
                extra_json_schema={"extra": {"items": {"type": "string", "enum": STATE_NAMES}}},
            ),
        ]
        | None
    ) = None
    occurred_after: Timestamp | None = None
    occurred_before: Timestamp | None = None

    def __post_init__(self) -> None:
        with refused_as_invalid():
            check_metadata(self.metadata, "filters.metadata")
        check_timestamps(occurred_after=self.occurred_after, occurred_before=self.occurred_before)


class RecentTurn(msgspec.Struct, forbid_unknown_fields=True):
    """A turn of the recent conversation, as an agent has it (the shape of a chat API's messages)."""

    role: Literal["user", "assistant", "system", "tool"]
    content: Annotated[
        str,
        stated(
            f"not blank; no control characters but tab and line breaks; at most {MAX_QUERY_CHARS} characters",
            minLength=1,
            maxLength=MAX_QUERY_CHARS,
            pattern=TEXT_PATTERN,
        ),
    ]


RecentMessages = Annotated[
    list[RecentTurn],
    msgspec.Meta(
        max_length=MAX_SEARCH_MESSAGES,
        description="the recent conversation, oldest first, the query's own turn may be last: a time or session"
        " named in the user's and assistant's turns scopes a query that names none and asks about no other topic"
        " (\"can you summarize what we discussed?\") or points back (\"then\", \"that day\")",
    ),
]


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: Query
    user_id: UserId | None = None
    app_id: AppId | None = None
    agent_id: NonEmptyId | None = None
    run_id: NonEmptyId | None = None
    top_k: Annotated[int, stated(minimum=1, maximum=MAX_TOP_K)] = 10
    # A named, immutable recipe (memory.retrieval.recipes): hybrid, dense, sparse, graph, temporal, no_graph, ...
    recipe: Annotated[RecipeName, msgspec.Meta(max_length=50)] = "hybrid"
    filters: SearchFilters | None = None
    # What "now" means for "last week" or "yesterday" in the query, and for recency. Default: now.
    reference_time: Timestamp | None = None
    # Valid time: what was true then. Known time: what the system knew then. Both default to now.
    as_of: Timestamp | None = None
    known_as_of: Timestamp | None = None
    # From an earlier write: wait until the projections have applied it (read your writes).
    consistency_token: ConsistencyToken | None = None
    # False: neither read nor fill the hot cache of results (benchmarks, debugging); the turn positions the ranking
    # reads are still kept per cache epoch (api.turn_positions): exact, not a result.
    use_cache: bool = True
    # Also search consolidated (archived) originals; a hit there is recalled back to active.
    include_archived: bool = False
    messages: RecentMessages | None = None

    def __post_init__(self) -> None:
        check_timestamps(reference_time=self.reference_time, as_of=self.as_of, known_as_of=self.known_as_of)


class SummaryOriginal(msgspec.Struct):
    """An archived original under a consolidation summary's hit (memory.retrieval.through_summaries)."""

    id: str
    memory: str
    valid_from: datetime
    metadata: dict[str, str]
    source_turn_ids: list[str]
    # The 1-based place it ranked at in its own right (the summary shows it in its stead); None when the summary
    # ranked on its own words and this is the original sharing the most of the query's words.
    rank: int | None = None


class SearchHit(msgspec.Struct):
    id: str
    memory: str
    # The final score: fused relevance re-ranked by importance and recency (memory.retrieval.ranking).
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
    # A consolidation summary's hit: the archived originals that made it rank, best first (empty otherwise).
    originals: list[SummaryOriginal] = msgspec.field(default_factory=list)


class TimeRangeOut(msgspec.Struct):
    expression: str
    start: datetime | None
    end: datetime | None


class TimeScopeOut(msgspec.Struct):
    """How the time the question names scoped the answer (memory.retrieval.time_scope)."""

    # "time": hits only from the window, most informative first; "time_and_topic": the window's topic matches boosted.
    kind: Literal["time", "time_and_topic"]
    expression: str
    start: datetime | None
    end: datetime | None
    # "query": named in the query; "messages": carried from an earlier turn of ``messages``.
    source: Literal["query", "messages"]
    # The hits from inside the window, in the order they were said (first said first).
    said_order: list[str] = msgspec.field(default_factory=list)


class SearchResponse(msgspec.Struct):
    results: list[SearchHit]
    took_ms: float
    recipe: str = "hybrid"
    cache_hit: bool = False
    # The time range read from the query, if any (what the temporal retriever filtered on).
    time_range: TimeRangeOut | None = None
    # Milliseconds each retriever took (they run concurrently), the whole retrieval stage, then reading the hits'
    # rows ("rows"), ordering them ("ranking") and, when archived originals or summaries ranked, reading their
    # summaries and originals ("summaries").
    timings_ms: dict[str, float] = msgspec.field(default_factory=dict)
    # Set when a named time (a date, a span, a session) scoped the answer.
    time_scope: TimeScopeOut | None = None


class ContextRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: Query
    max_tokens: Annotated[int, stated(minimum=MIN_TOKENS, maximum=MAX_TOKENS)]
    user_id: UserId | None = None
    app_id: AppId | None = None
    agent_id: NonEmptyId | None = None
    run_id: NonEmptyId | None = None
    recipe: Annotated[RecipeName, msgspec.Meta(max_length=50)] = "hybrid"
    filters: SearchFilters | None = None
    reference_time: Timestamp | None = None
    as_of: Timestamp | None = None
    known_as_of: Timestamp | None = None
    consistency_token: ConsistencyToken | None = None
    # The user's (or the agent's) non-empty core memory blocks first, as <core_memory>, in the same budget.
    include_blocks: bool = False
    messages: RecentMessages | None = None

    def __post_init__(self) -> None:
        check_timestamps(reference_time=self.reference_time, as_of=self.as_of, known_as_of=self.known_as_of)


class ContextResponse(msgspec.Struct):
    context: str
    token_count: int
    max_tokens: int
    memory_ids: list[str]
    # Memories that matched but did not fit the budget.
    omitted: int
    tokenizer: str
    # The core memory blocks included (include_blocks), in the order they appear.
    block_labels: list[str] = msgspec.field(default_factory=list)


class UpdateMemoryRequest(msgspec.Struct, forbid_unknown_fields=True):
    user_id: UserId | None = None
    app_id: AppId | None = None
    text: Text | None = None
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
    """Every 4xx and 5xx answer; ``extra`` lists what failed when a parameter or body did not decode."""

    status_code: int
    detail: str
    extra: list[dict[str, str]] | None = None
