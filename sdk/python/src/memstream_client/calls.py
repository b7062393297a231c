"""Every operation of the API, defined once: what to send and how to read the answer.

Each builder returns a ``Call`` (a description, no I/O) that the sync and the async client hand to the same
engine (``memstream_client.engine``); the two clients differ only in how they send bytes and sleep. Fields left
as None are not sent, so the API's own defaults apply (and an older API never sees a field it does not know).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from memstream_client.consistency import Scope, Topic
from memstream_client.models import (
    Accepted,
    AddResult,
    Block,
    BlockHistory,
    BlockWriteAccepted,
    Context,
    ConversationLog,
    ConversationPage,
    ErasureAccepted,
    Memory,
    MemoryHistory,
    MemoryPage,
    SearchResults,
    SessionPage,
    ToolResult,
)

T = TypeVar("T")
Method = Literal["GET", "POST", "PUT", "DELETE"]
When = datetime | date | str
Messages = str | Sequence[Mapping[str, Any]]

# The tools that write, and where their events go (read your writes); every other tool reads.
TOOL_WRITES = {
    "core_memory_append": Topic.COMMANDS,
    "core_memory_replace": Topic.COMMANDS,
    "archival_memory_insert": Topic.TURNS,
}


@dataclass(frozen=True)
class Call(Generic[T]):
    method: Method
    path: str
    parse: Callable[[Any], T]
    scope: Scope
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    # A write: the topic its events go to (its consistency token is remembered for the scope's next read).
    writes: Topic | None = None
    # A read: where a consistency token goes ("query", "body"), or None for a read that takes none (the engine
    # then waits for pending writes with a separate cheap read first). reads=False: no waiting at all.
    reads: bool = False
    token_in: Literal["query", "body"] | None = None
    consistency_token: str | None = None  # given by the caller: passed as is, the book is not consulted
    # A write the API checks against what is stored (a block's text and limit, a memory that must exist): with
    # read-your-writes it waits first for the scope's pending writes, so that it is checked against them.
    checked_against_stored: bool = False
    read_your_writes: bool | None = None  # None: the client's setting

    @property
    def needs_idempotency_key(self) -> bool:
        """A POST that writes is not idempotent by itself: the key makes a retry replay the first answer."""
        return self.method == "POST" and self.writes is not None

    @property
    def retry_safe(self) -> bool:
        """May this be sent again after it may have reached the API? GET/PUT/DELETE are idempotent, a POST that
        only reads is harmless, and a POST write carries an idempotency key."""
        return self.method != "POST" or self.reads or self.needs_idempotency_key

    def with_token(self, token: str) -> Call[T]:
        if self.token_in == "query":
            return replace(self, params={**self.params, "consistency_token": token})
        return replace(self, body={**(self.body or {}), "consistency_token": token})


def flag(value: bool | None) -> str | None:
    """A boolean query parameter as the API reads it."""
    return None if value is None else ("true" if value else "false")


def when(value: When | None) -> str | None:
    """A timestamp or date as the API reads it (ISO 8601); a string is sent as is."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def segment(value: str) -> str:
    """A path segment: an id with '/' or '?' in it stays one segment (and gets the API's 400 or 404)."""
    return quote(value, safe="")


def _list_of_blocks(data: Any) -> list[Block]:
    return [Block.from_json(b) for b in data["blocks"]]


def _tool_schemas(data: Any) -> list[dict[str, Any]]:
    return list(data["tools"])


def _nothing(_: Any) -> None:
    return None


# --- memories ---------------------------------------------------------------------------------------------------


def add(
    messages: Messages,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    run_id: str | None,
    conversation_id: str | None,
    metadata: Mapping[str, str] | None,
    infer: bool,
    occurred_at: When | None,
    session_id: str | None = None,
) -> Call[AddResult]:
    content: dict[str, Any] = (
        {"text": messages} if isinstance(messages, str) else {"messages": [dict(m) for m in messages]}
    )
    body = present(
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
        run_id=run_id,
        conversation_id=conversation_id,
        metadata=dict(metadata) if metadata is not None else None,
        infer=None if infer else False,
        occurred_at=when(occurred_at),
        session_id=session_id,
    )
    return Call(
        "POST",
        "/v1/memories",
        AddResult.from_json,
        Scope(app_id, user_id),
        body={**content, **body},
        writes=Topic.TURNS,
    )


def search(
    query: str,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    run_id: str | None,
    limit: int | None,
    recipe: str | None,
    filters: Mapping[str, Any] | None,
    reference_time: When | None,
    as_of: When | None,
    known_as_of: When | None,
    messages: Sequence[Mapping[str, str]] | None = None,
    use_cache: bool,
    include_archived: bool,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[SearchResults]:
    body = present(
        query=query,
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
        run_id=run_id,
        top_k=limit,  # mem0's name for the number of results
        recipe=recipe,
        filters=dict(filters) if filters is not None else None,
        reference_time=when(reference_time),
        as_of=when(as_of),
        known_as_of=when(known_as_of),
        messages=_turns(messages),
        use_cache=None if use_cache else False,
        include_archived=True if include_archived else None,
        consistency_token=consistency_token,
    )
    return Call(
        "POST",
        "/v1/memories/search",
        SearchResults.from_json,
        Scope(app_id, user_id),
        body=body,
        reads=True,
        token_in="body",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def get(
    memory_id: str,
    *,
    user_id: str | None,
    app_id: str | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[Memory]:
    params = present(user_id=user_id, app_id=app_id, consistency_token=consistency_token)
    return Call(
        "GET",
        f"/v1/memories/{segment(memory_id)}",
        Memory.from_json,
        Scope(app_id, user_id),
        params=params,
        reads=True,
        token_in="query",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def get_all(
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    run_id: str | None,
    states: Sequence[str] | None,
    limit: int | None,
    offset: int | None,
    metadata: Mapping[str, str] | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
    kind: str | None = None,
    text_contains: str | None = None,
    pinned: bool | None = None,
    occurred_after: When | None = None,
    occurred_before: When | None = None,
    include_superseded: bool | None = None,
) -> Call[MemoryPage]:
    params = present(
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
        run_id=run_id,
        state=list(states) if states else None,  # repeated: ?state=active&state=archived
        limit=limit,
        offset=offset,
        # One JSON object: metadata keys may hold characters a parameter name could not.
        metadata=json.dumps(dict(metadata), separators=(",", ":")) if metadata else None,
        kind=kind,
        q=text_contains,
        pinned=flag(pinned),
        occurred_after=when(occurred_after),
        occurred_before=when(occurred_before),
        include_superseded=flag(include_superseded),
        consistency_token=consistency_token,
    )
    return Call(
        "GET",
        "/v1/memories",
        MemoryPage.from_json,
        Scope(app_id, user_id),
        params=params,
        reads=True,
        token_in="query",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def update(
    memory_id: str, text: str | None, *, pinned: bool | None, user_id: str | None, app_id: str | None
) -> Call[Accepted]:
    body = present(text=text, pinned=pinned, user_id=user_id, app_id=app_id)
    return Call(
        "PUT",
        f"/v1/memories/{segment(memory_id)}",
        Accepted.from_json,
        Scope(app_id, user_id),
        body=body,
        writes=Topic.COMMANDS,
        checked_against_stored=True,
    )


def delete(memory_id: str, *, user_id: str | None, app_id: str | None) -> Call[Accepted]:
    return Call(
        "DELETE",
        f"/v1/memories/{segment(memory_id)}",
        Accepted.from_json,
        Scope(app_id, user_id),
        params=present(user_id=user_id, app_id=app_id),
        writes=Topic.COMMANDS,
        checked_against_stored=True,
    )


def delete_all(*, user_id: str | None, app_id: str | None) -> Call[ErasureAccepted]:
    return Call(
        "DELETE",
        "/v1/memories",
        ErasureAccepted.from_json,
        Scope(app_id, user_id),
        params=present(user_id=user_id, app_id=app_id),
        writes=Topic.COMMANDS,
        # The erase applies to what is stored when the worker reaches it: an add sent just before could still be
        # on its way through extraction and land after it.
        checked_against_stored=True,
    )


def history(
    memory_id: str,
    *,
    user_id: str | None,
    app_id: str | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[MemoryHistory]:
    params = present(user_id=user_id, app_id=app_id, consistency_token=consistency_token)
    return Call(
        "GET",
        f"/v1/memories/{segment(memory_id)}/history",
        MemoryHistory.from_json,
        Scope(app_id, user_id),
        params=params,
        reads=True,
        token_in="query",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def get_context(
    query: str,
    *,
    user_id: str | None,
    max_tokens: int,
    app_id: str | None,
    agent_id: str | None,
    run_id: str | None,
    recipe: str | None,
    filters: Mapping[str, Any] | None,
    reference_time: When | None,
    as_of: When | None,
    known_as_of: When | None,
    messages: Sequence[Mapping[str, str]] | None = None,
    include_blocks: bool,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[Context]:
    body = present(
        query=query,
        max_tokens=max_tokens,
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
        run_id=run_id,
        recipe=recipe,
        filters=dict(filters) if filters is not None else None,
        reference_time=when(reference_time),
        as_of=when(as_of),
        known_as_of=when(known_as_of),
        messages=_turns(messages),
        include_blocks=True if include_blocks else None,
        consistency_token=consistency_token,
    )
    return Call(
        "POST",
        "/v1/context",
        Context.from_json,
        Scope(app_id, user_id),
        body=body,
        reads=True,
        token_in="body",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def _turns(messages: Sequence[Mapping[str, str]] | None) -> list[dict[str, str]] | None:
    """The recent conversation as the API takes it: role and content of each turn (other keys dropped)."""
    if messages is None:
        return None
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def wait_for(token: str, scope: Scope) -> Call[None]:
    """No route only waits: the cheapest read there is (one memory of the user) carries the token. Any user of
    the credential's app would do (the token names log positions, not a user); the write's own is one the
    credential may read."""
    params = present(user_id=scope.user_id, app_id=scope.app_id, limit=1, consistency_token=token)
    return Call("GET", "/v1/memories", _nothing, scope, params=params, consistency_token=token)


# --- core memory blocks -----------------------------------------------------------------------------------------


def _block_params(user_id: str | None, app_id: str | None, agent_id: str | None, **more: Any) -> dict[str, Any]:
    return present(user_id=user_id, app_id=app_id, agent_id=agent_id, **more)


def list_blocks(
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    as_of: When | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[list[Block]]:
    params = _block_params(user_id, app_id, agent_id, as_of=when(as_of), consistency_token=consistency_token)
    return Call(
        "GET",
        "/v1/blocks",
        _list_of_blocks,
        Scope(app_id, user_id),
        params=params,
        reads=True,
        token_in="query",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def get_block(
    label: str,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    as_of: When | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[Block]:
    params = _block_params(user_id, app_id, agent_id, as_of=when(as_of), consistency_token=consistency_token)
    return Call(
        "GET",
        f"/v1/blocks/{segment(label)}",
        Block.from_json,
        Scope(app_id, user_id),
        params=params,
        reads=True,
        token_in="query",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def create_block(
    label: str,
    value: str,
    *,
    limit: int | None,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
) -> Call[BlockWriteAccepted]:
    body = _block_params(user_id, app_id, agent_id, label=label, value=value, limit=limit)
    return Call(
        "POST",
        "/v1/blocks",
        BlockWriteAccepted.from_json,
        Scope(app_id, user_id),
        body=body,
        writes=Topic.COMMANDS,
        checked_against_stored=True,
    )


def append_block(
    label: str, content: str, *, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Call[BlockWriteAccepted]:
    body = _block_params(user_id, app_id, agent_id, content=content)
    return Call(
        "POST",
        f"/v1/blocks/{segment(label)}/append",
        BlockWriteAccepted.from_json,
        Scope(app_id, user_id),
        body=body,
        writes=Topic.COMMANDS,
        checked_against_stored=True,
    )


def replace_block(
    label: str, old: str, new: str, *, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Call[BlockWriteAccepted]:
    body = _block_params(user_id, app_id, agent_id, old=old, new=new)
    return Call(
        "POST",
        f"/v1/blocks/{segment(label)}/replace",
        BlockWriteAccepted.from_json,
        Scope(app_id, user_id),
        body=body,
        writes=Topic.COMMANDS,
        checked_against_stored=True,
    )


def delete_block(
    label: str, *, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Call[BlockWriteAccepted]:
    return Call(
        "DELETE",
        f"/v1/blocks/{segment(label)}",
        BlockWriteAccepted.from_json,
        Scope(app_id, user_id),
        params=_block_params(user_id, app_id, agent_id),
        writes=Topic.COMMANDS,
        checked_against_stored=True,
    )


def block_history(
    label: str,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    read_your_writes: bool | None,
) -> Call[BlockHistory]:
    return Call(
        "GET",
        f"/v1/blocks/{segment(label)}/history",
        BlockHistory.from_json,
        Scope(app_id, user_id),
        params=_block_params(user_id, app_id, agent_id),
        reads=True,
        read_your_writes=read_your_writes,
    )


# --- memory tools and conversation search -----------------------------------------------------------------------


def tools() -> Call[list[dict[str, Any]]]:
    return Call("GET", "/v1/tools", _tool_schemas, Scope(None, None))


def call_tool(
    name: str,
    arguments: Mapping[str, Any] | str,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    read_your_writes: bool | None = None,
) -> Call[ToolResult]:
    """``arguments``: an object, or the JSON string a model emitted (the API parses it and names what is wrong)."""
    body = present(
        arguments=arguments if isinstance(arguments, str) else dict(arguments),
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
    )
    writes = TOOL_WRITES.get(name)
    return Call(
        "POST",
        f"/v1/tools/{segment(name)}",
        ToolResult.from_json,
        Scope(app_id, user_id),
        body=body,
        writes=writes,
        reads=writes is None,
        checked_against_stored=writes is Topic.COMMANDS,  # the core memory tools edit blocks
        read_your_writes=read_your_writes,
    )


def search_conversations(
    query: str,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    start_date: When | None,
    end_date: When | None,
    page: int | None,
    page_size: int | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[ConversationPage]:
    body = present(
        query=query,
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
        start_date=when(start_date),
        end_date=when(end_date),
        page=page,
        page_size=page_size,
        consistency_token=consistency_token,
    )
    return Call(
        "POST",
        "/v1/conversations/search",
        ConversationPage.from_json,
        Scope(app_id, user_id),
        body=body,
        reads=True,
        token_in="body",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def conversation_turns(
    conversation_id: str,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
    limit: int | None,
    offset: int | None,
    newest_first: bool | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[ConversationLog]:
    params = present(
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
        limit=limit,
        offset=offset,
        newest_first=None if newest_first is None else str(newest_first).lower(),
        consistency_token=consistency_token,
    )
    return Call(
        "GET",
        f"/v1/conversations/{segment(conversation_id)}/turns",
        ConversationLog.from_json,
        Scope(app_id, user_id),
        params=params,
        reads=True,
        token_in="query",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def sessions(
    *,
    user_id: str | None,
    app_id: str | None,
    conversation_id: str | None,
    limit: int | None,
    offset: int | None,
    consistency_token: str | None,
    read_your_writes: bool | None,
) -> Call[SessionPage]:
    params = present(
        user_id=user_id,
        app_id=app_id,
        conversation_id=conversation_id,
        limit=limit,
        offset=offset,
        consistency_token=consistency_token,
    )
    return Call(
        "GET",
        "/v1/sessions",
        SessionPage.from_json,
        Scope(app_id, user_id),
        params=params,
        reads=True,
        token_in="query",
        consistency_token=consistency_token,
        read_your_writes=read_your_writes,
    )


def core_memory_append(
    label: str, content: str, *, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Call[ToolResult]:
    return call_tool(
        "core_memory_append", {"label": label, "content": content}, user_id=user_id, app_id=app_id, agent_id=agent_id
    )


def core_memory_replace(
    label: str, old: str, new: str, *, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Call[ToolResult]:
    return call_tool(
        "core_memory_replace",
        {"label": label, "old": old, "new": new},
        user_id=user_id,
        app_id=app_id,
        agent_id=agent_id,
    )


def archival_memory_insert(
    content: str, *, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Call[ToolResult]:
    return call_tool("archival_memory_insert", {"content": content}, user_id=user_id, app_id=app_id, agent_id=agent_id)


def archival_memory_search(
    query: str, page: int, *, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Call[ToolResult]:
    return call_tool(
        "archival_memory_search", {"query": query, "page": page}, user_id=user_id, app_id=app_id, agent_id=agent_id
    )


def conversation_search(
    query: str,
    start_date: When | None,
    end_date: When | None,
    page: int,
    *,
    user_id: str | None,
    app_id: str | None,
    agent_id: str | None,
) -> Call[ToolResult]:
    arguments = present(query=query, start_date=when(start_date), end_date=when(end_date), page=page)
    return call_tool("conversation_search", arguments, user_id=user_id, app_id=app_id, agent_id=agent_id)
