"""``POST /v1/conversations/search``."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.conversations.schemas import ConversationSearchRequest, ConversationSearchResponse
from api.conversations.search import read_query, search_conversations
from api.gateway import tenancy
from api.gateway.principal import Principal
from api.gateway.tenancy import authorize
from api.openapi import WRITE
from api.services import Services


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
