"""The body and answer of ``POST /v1/conversations/search``, and the answer of
``GET /v1/conversations/{conversation_id}/turns``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.schemas import AppId, ConsistencyToken, NonEmptyId, Query, UserId, stated

MAX_PAGE_SIZE = 50
# Far beyond what anyone pages through; keeps OFFSET small enough that a page is always answered quickly.
MAX_PAGE = 1_000
BOUND = "an RFC 3339 date-time with a time zone (2026-03-01T09:15:00Z) or a date (2026-03-01, a day in UTC)"
StartDate = Annotated[
    str,
    stated(f"turns said at or after it: {BOUND}", maxLength=64, anyOf=[{"format": "date"}, {"format": "date-time"}]),
]
EndDate = Annotated[
    str,
    stated(
        f"turns said at or before it (a date includes its whole day): {BOUND}",
        maxLength=64,
        anyOf=[{"format": "date"}, {"format": "date-time"}],
    ),
]


class ConversationSearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: Query
    user_id: UserId | None = None
    app_id: AppId | None = None
    # Given: only the turns of this agent's conversations.
    agent_id: NonEmptyId | None = None
    start_date: StartDate | None = None
    end_date: EndDate | None = None
    page: Annotated[int, msgspec.Meta(ge=0, le=MAX_PAGE)] = 0
    page_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)] = 10
    consistency_token: ConsistencyToken | None = None


class ConversationHit(msgspec.Struct):
    turn_id: str
    conversation_id: str
    role: str
    # The speaker's name when the turn named one.
    speaker: str | None
    text: str
    occurred_at: datetime
    # PostgreSQL's ts_rank of the turn for the query: higher is better.
    rank: float


class ConversationSearchResponse(msgspec.Struct):
    results: list[ConversationHit]
    page: int
    page_size: int
    # How many turns match in all (every page).
    total: int


# GET /v1/conversations/{conversation_id}/turns
MAX_TURNS_PAGE = 1_000
# Far beyond one conversation's length; keeps OFFSET small enough that a page is always answered quickly.
MAX_TURNS_OFFSET = 1_000_000


class ConversationTurn(msgspec.Struct):
    turn_id: str
    conversation_id: str
    role: str
    # The speaker's name when the turn named one.
    speaker: str | None
    text: str
    # The metadata the turn was written with (POST /v1/memories).
    metadata: dict[str, str]
    occurred_at: datetime


class ConversationTurns(msgspec.Struct):
    # Oldest first (the order they were said), or newest first with newest_first=true.
    results: list[ConversationTurn]
    # How many turns the conversation has in all (every page).
    total: int
    limit: int
    offset: int


# GET /v1/sessions
MAX_SESSIONS_PAGE = 1_000
MAX_SESSIONS_OFFSET = 1_000_000


class ConversationSession(msgspec.Struct):
    app_id: str
    user_id: str
    conversation_id: str
    # 1 for the conversation's first session, in time order (by start); a late turn that starts a session
    # between two others, or merges two, changes the numbers after it.
    number: int
    # The producer's session_id (POST /v1/memories); null for a session inferred from a pause in the turns.
    session_id: str | None
    # Whether the producer named the session (session_id), or it was inferred.
    explicit: bool
    # occurred_at of the session's first and last turn.
    started_at: datetime
    ended_at: datetime
    turn_count: int


class ConversationSessions(msgspec.Struct):
    # By conversation, then number.
    results: list[ConversationSession]
    # How many sessions match in all (every page).
    total: int
    limit: int
    offset: int
