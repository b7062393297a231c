"""``conversation_search``: the conversation log's full-text search (api.conversations), five turns a page."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import msgspec

from api.conversations.schemas import MAX_PAGE, ConversationHit, ConversationSearchRequest
from api.conversations.search import read_query, search_conversations
from api.errors import InvalidRequest
from api.schemas import MAX_QUERY_CHARS
from api.services import Services
from api.tools.arguments import BadArguments, page_argument, read, text_argument
from api.tools.definitions import CONVERSATION_PAGE_SIZE
from memory.contract.events import Scope

NAME = "conversation_search"


class SearchArguments(msgspec.Struct, forbid_unknown_fields=True):
    query: str
    start_date: str | None = None
    end_date: str | None = None
    page: int | None = 0


async def search(services: Services, scope: Scope, arguments: dict[str, Any]) -> tuple[str, dict[str, Any], None]:
    args = read(NAME, arguments, SearchArguments)
    text_argument(NAME, args.query, "query", MAX_QUERY_CHARS)
    page = page_argument(NAME, args.page, MAX_PAGE)
    body = ConversationSearchRequest(
        query=args.query,
        start_date=args.start_date,
        end_date=args.end_date,
        page=page,
        page_size=CONVERSATION_PAGE_SIZE,
    )
    try:
        query = read_query(body, scope)
    except InvalidRequest as exc:  # a date the route would refuse with a 400 is a bad argument here
        raise BadArguments(NAME, exc.detail) from None
    found = await search_conversations((await services.view()).pool, query)
    return search_text(args.query, found.results, found.total, page), msgspec.to_builtins(found), None


def search_text(query: str, hits: list[ConversationHit], total: int, page: int) -> str:
    if not hits:
        if total == 0:
            return f"Nothing said in the conversations matches {query!r}."
        return f"No more turns match {query!r}: page {page} is past the last of {total}."
    first = page * CONVERSATION_PAGE_SIZE
    lines = [f"Conversation turns matching {query!r}: {total} in all, page {page} (best first):"]
    for number, hit in enumerate(hits, start=first + 1):
        who = f"{hit.role} ({hit.speaker})" if hit.speaker else hit.role
        when = hit.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"{number}. [{when}] {who}: {hit.text}")
    if first + len(hits) < total:
        lines.append(f"More follow: call conversation_search with page {page + 1}.")
    return "\n".join(lines)
