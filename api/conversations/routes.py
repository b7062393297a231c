"""``POST /v1/conversations/search``, ``GET /v1/conversations/{conversation_id}/turns`` and ``GET /v1/sessions``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.conversations.schemas import (
    MAX_SESSIONS_OFFSET,
    MAX_SESSIONS_PAGE,
    MAX_TURNS_OFFSET,
    MAX_TURNS_PAGE,
    ConversationSearchRequest,
    ConversationSearchResponse,
    ConversationSessions,
    ConversationTurns,
)
from api.conversations.search import read_query, search_conversations
from api.conversations.sessions import SessionsQuery, read_sessions
from api.conversations.turns import TurnsQuery, read_turns
from api.gateway import tenancy
from api.gateway.principal import Principal
from api.gateway.tenancy import authorize
from api.openapi import READ, WRITE
from api.params import AppId, OptionalId, Token, UserId
from api.services import Services
from memory.contract.validation import ID_PATTERN, MAX_ID_CHARS

ConversationId = Annotated[
    str,
    PathParameter(
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="the conversation_id the turns were added with (POST /v1/memories; default: the run_id, else"
        " 'default')",
    ),
]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_TURNS_PAGE, description="at most this many turns")]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_TURNS_OFFSET, description="skip this many turns first")]
NewestFirst = Annotated[
    bool, QueryParameter(description="true: the latest turns first (the last N turns: limit=N, then reverse)")
]


class ConversationsController(Controller):
    path = "/v1/conversations"
    tags = ["conversations"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @post(
        "/search",
        status_code=200,
        summary="Full-text search over a user's conversation log, by date range, paged",
        responses=WRITE,
    )
    async def search(
        self,
        data: JSONBody[ConversationSearchRequest],
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
    ) -> ConversationSearchResponse:
        scope = authorize(caller, tenancy.READ, data.app_id, data.user_id, data.agent_id)
        query = read_query(data, scope)  # a 400 before any waiting
        if data.consistency_token:
            await services.consistency.wait(data.consistency_token)
        return await search_conversations((await services.view()).pool, query)

    @get(
        "/{conversation_id:str}/turns",
        summary="A conversation's turns in the order they were said, paged (an empty page: no such conversation)",
        responses=READ,
    )
    async def turns(
        self,
        conversation_id: ConversationId,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        agent_id: OptionalId = None,
        limit: Limit = 100,
        offset: Offset = 0,
        newest_first: NewestFirst = False,
        consistency_token: Token = None,
    ) -> ConversationTurns:
        """An unknown conversation (or another user's) is an empty page, not a 404: a conversation exists only
        through its turns, and the answer must not tell whether another tenant has one by that id."""
        scope = authorize(caller, tenancy.READ, app_id, user_id, agent_id)
        if consistency_token:
            await services.consistency.wait(consistency_token)
        query = TurnsQuery(scope, conversation_id, limit, offset, newest_first)
        return await read_turns((await services.view()).pool, query)


ConversationFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="only this conversation's sessions (omitted: every conversation of the user)",
    ),
]
SessionsLimit = Annotated[int, QueryParameter(ge=1, le=MAX_SESSIONS_PAGE, description="at most this many sessions")]
SessionsOffset = Annotated[
    int, QueryParameter(ge=0, le=MAX_SESSIONS_OFFSET, description="skip this many sessions first")
]


class SessionsController(Controller):
    path = "/v1/sessions"
    tags = ["conversations"]  # noqa: RUF012 - Litestar declares tags as a class attribute list

    @get(
        "/",
        summary="A user's conversation sessions, numbered per conversation in time order, paged",
        responses=READ,
    )
    async def sessions(
        self,
        caller: NamedDependency[Principal],
        services: NamedDependency[Services],
        user_id: UserId = None,
        app_id: AppId = None,
        conversation_id: ConversationFilter = None,
        limit: SessionsLimit = 100,
        offset: SessionsOffset = 0,
        consistency_token: Token = None,
    ) -> ConversationSessions:
        """Explicit sessions (the session_id turns were added with) and inferred ones (a pause longer than the
        session gap between turns without one), each with its number in its conversation, first and last turn's
        time and turn count. Another user's conversations are never read; an unknown one is an empty page."""
        scope = authorize(caller, tenancy.READ, app_id, user_id)
        if consistency_token:
            await services.consistency.wait(consistency_token)
        query = SessionsQuery(scope, conversation_id, limit, offset)
        return await read_sessions((await services.view()).pool, query)
