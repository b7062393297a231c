"""``archival_memory_insert`` and ``archival_memory_search``: archival memory is the user's memories.

Insert is ``POST /v1/memories`` with ``infer=false`` (the text is the memory, unchanged) through the same
writer; its turn is marked as written by the tool (api.conversations.search leaves such turns out of the
conversation log's search). Search is the hybrid search of ``POST /v1/memories/search``, paged by five.
"""

from __future__ import annotations

from typing import Any

import msgspec

from api.schemas import MAX_QUERY_CHARS, AddMemoriesRequest, SearchHit, SearchRequest
from api.search import validate
from api.services import Services
from api.tools.arguments import page_argument, read, text_argument
from api.tools.definitions import ARCHIVAL_PAGE_SIZE, MAX_ARCHIVAL_PAGE
from memory.contract.events import Scope
from memory.conversations.sessions import TOOL_METADATA_KEY

INSERT = "archival_memory_insert"
SEARCH = "archival_memory_search"


class InsertArguments(msgspec.Struct, forbid_unknown_fields=True):
    content: str


class SearchArguments(msgspec.Struct, forbid_unknown_fields=True):
    query: str
    page: int | None = 0  # a model may send null for "the first page"


async def insert(services: Services, scope: Scope, arguments: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    args = read(INSERT, arguments, InsertArguments)
    text_argument(INSERT, args.content, "content", services.settings.max_content_chars)
    body = AddMemoriesRequest(
        user_id=scope.user_id,
        app_id=scope.app_id,
        agent_id=scope.agent_id,
        text=args.content,
        infer=False,
        metadata={TOOL_METADATA_KEY: INSERT},
    )
    accepted = await services.writer.add(body, scope)
    text = "Saved to archival memory. It can be found with archival_memory_search within a few seconds."
    return text, {"event_ids": accepted.event_ids}, accepted.consistency_token


async def search(services: Services, scope: Scope, arguments: dict[str, Any]) -> tuple[str, dict[str, Any], None]:
    args = read(SEARCH, arguments, SearchArguments)
    text_argument(SEARCH, args.query, "query", MAX_QUERY_CHARS)
    page = page_argument(SEARCH, args.page, MAX_ARCHIVAL_PAGE)
    first = page * ARCHIVAL_PAGE_SIZE
    request = SearchRequest(
        query=args.query,
        user_id=scope.user_id,
        app_id=scope.app_id,
        agent_id=scope.agent_id,
        top_k=first + ARCHIVAL_PAGE_SIZE,
    )
    found = await (await services.view()).search.search(validate(request, scope))
    hits = found.results[first : first + ARCHIVAL_PAGE_SIZE]
    # A full page may have more after it (the search was cut at this page's end); a short one has not.
    more = len(hits) == ARCHIVAL_PAGE_SIZE and page < MAX_ARCHIVAL_PAGE
    data = {
        "results": [result(hit) for hit in hits],
        "page": page,
        "page_size": ARCHIVAL_PAGE_SIZE,
        "more": more,
    }
    return search_text(args.query, page, first, hits, more), data, None


def result(hit: SearchHit) -> dict[str, Any]:
    found = {"id": hit.id, "memory": hit.memory, "score": hit.score, "valid_from": hit.valid_from.isoformat()}
    if hit.originals:  # a consolidation summary's hit: the archived memories that made it rank
        found["originals"] = [{"id": o.id, "memory": o.memory, "rank": o.rank} for o in hit.originals]
    return found


def search_text(query: str, page: int, first: int, hits: list[SearchHit], more: bool) -> str:
    if not hits:
        if page == 0:
            return f"No archival memory matches {query!r}."
        return f"No more archival memories match {query!r}: page {page} is past the last result."
    lines = [f"Archival memories matching {query!r}, page {page} (best first):"]
    for number, hit in enumerate(hits, start=first + 1):
        lines.append(f"{number}. [id {hit.id}, {hit.valid_from.date().isoformat()}] {hit.memory}")
        # A summary leaves details out: the originals the question matched, in their own words, under it.
        lines.extend(f"   - [id {o.id}, {o.valid_from.date().isoformat()}] {o.memory}" for o in hit.originals)
    if more:
        lines.append(f"More may follow: call archival_memory_search with page {page + 1}.")
    return "\n".join(lines)
