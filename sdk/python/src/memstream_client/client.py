"""``Memstream``: the synchronous client. Every method builds a ``Call`` (``calls``) and runs it through the
shared ``Engine``; this class only sends requests with ``httpx.Client`` and sleeps with ``time.sleep``.
``AsyncMemstream`` (``async_client``) has the same methods with the same signatures (a unit test checks it)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from memstream_client import calls
from memstream_client.calls import Messages, When
from memstream_client.config import DEFAULT_TIMEOUT_SECONDS, base_url_from, default_headers
from memstream_client.consistency import Scope
from memstream_client.engine import Engine, Exchange, Send, Sleep
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
from memstream_client.retry import RetryPolicy
from memstream_client.tool_calls import tool_call_parts

T = TypeVar("T")


class Memstream:
    """A client of the memstream API.

    ``api_key`` (or ``MEMSTREAM_API_KEY``) is sent as ``Authorization: Bearer``; ``base_url`` (or
    ``MEMSTREAM_URL``) defaults to ``http://127.0.0.1:18080``, where ``memstream run`` serves. With
    ``read_your_writes=True`` a read of a user waits until this client's earlier writes for that user are
    applied (each read method's ``read_your_writes=`` overrides it for one call). Connection errors, 429 and 503
    are retried with backoff (``Retry-After`` honoured), at most ``max_retries`` times and ``max_retry_seconds``
    in all; every write is safe to retry (POST writes carry an ``Idempotency-Key``).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        read_your_writes: bool = False,
        max_retries: int = 3,
        max_retry_seconds: float = 60.0,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url_from(base_url)
        self._engine = Engine(RetryPolicy(max_retries, max_retry_seconds), read_your_writes)
        self._http = httpx.Client(
            base_url=self.base_url, headers=default_headers(api_key, headers), timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Memstream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _drive(self, exchange: Exchange[T]) -> T:
        outcome: httpx.Response | httpx.TransportError | None = None
        try:
            while True:
                action = exchange.send(outcome)
                if isinstance(action, Sleep):
                    time.sleep(action.seconds)
                    outcome = None
                else:
                    outcome = self._send(action)
        except StopIteration as done:
            result: T = done.value
            return result

    def _send(self, action: Send) -> httpx.Response | httpx.TransportError:
        request = self._http.build_request(
            action.method, action.path, params=action.params, json=action.json, headers=action.headers
        )
        try:
            return self._http.send(request)
        except httpx.TransportError as exc:
            return exc

    def _run(self, call: calls.Call[T]) -> T:
        return self._drive(self._engine.run(call))

    # --- memories ------------------------------------------------------------------------------------------------

    def add(
        self,
        messages: Messages,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        conversation_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        infer: bool = True,
        occurred_at: When | None = None,
        session_id: str | None = None,
    ) -> AddResult:
        """Add chat messages (``[{"role": "user", "content": "..."}]``) or one text; memories are extracted from
        them asynchronously (``infer=False`` stores each verbatim). ``session_id`` names their session of the
        conversation (omitted: inferred from the pauses between turns; see ``sessions``)."""
        return self._run(
            calls.add(
                messages,
                user_id=user_id,
                app_id=app_id,
                agent_id=agent_id,
                run_id=run_id,
                conversation_id=conversation_id,
                metadata=metadata,
                infer=infer,
                occurred_at=occurred_at,
                session_id=session_id,
            )
        )

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int | None = None,
        recipe: str | None = None,
        filters: Mapping[str, Any] | None = None,
        reference_time: When | None = None,
        as_of: When | None = None,
        known_as_of: When | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        use_cache: bool = True,
        include_archived: bool = False,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> SearchResults:
        """Hybrid search over a user's memories; ``limit`` is the API's ``top_k`` (default 10). ``messages``: the
        recent conversation (``{"role", "content"}`` dicts, oldest first), whose named time or session scopes a
        question like "can you summarize what we discussed?"."""
        return self._run(
            calls.search(
                query,
                user_id=user_id,
                app_id=app_id,
                agent_id=agent_id,
                run_id=run_id,
                limit=limit,
                recipe=recipe,
                filters=filters,
                reference_time=reference_time,
                as_of=as_of,
                known_as_of=known_as_of,
                messages=messages,
                use_cache=use_cache,
                include_archived=include_archived,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def get(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> Memory:
        return self._run(
            calls.get(
                memory_id,
                user_id=user_id,
                app_id=app_id,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def get_all(
        self,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        states: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        metadata: Mapping[str, str] | None = None,
        kind: str | None = None,
        text_contains: str | None = None,
        pinned: bool | None = None,
        occurred_after: When | None = None,
        occurred_before: When | None = None,
        include_superseded: bool | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> MemoryPage:
        """A page of a user's memories, newest first (default: the searchable states, 100 a page). Filters:
        ``metadata`` (all these pairs), ``kind``, ``text_contains`` (case-insensitive), ``pinned``, a valid-time
        range (``occurred_after`` inclusive, ``occurred_before`` exclusive) and ``include_superseded``."""
        return self._run(
            calls.get_all(
                user_id=user_id,
                app_id=app_id,
                agent_id=agent_id,
                run_id=run_id,
                states=states,
                limit=limit,
                offset=offset,
                metadata=metadata,
                kind=kind,
                text_contains=text_contains,
                pinned=pinned,
                occurred_after=occurred_after,
                occurred_before=occurred_before,
                include_superseded=include_superseded,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        pinned: bool | None = None,
        user_id: str | None = None,
        app_id: str | None = None,
    ) -> Accepted:
        """Correct a memory's text and/or pin it."""
        return self._run(calls.update(memory_id, text, pinned=pinned, user_id=user_id, app_id=app_id))

    def delete(self, memory_id: str, *, user_id: str | None = None, app_id: str | None = None) -> Accepted:
        """Forget one memory everywhere."""
        return self._run(calls.delete(memory_id, user_id=user_id, app_id=app_id))

    def delete_all(self, *, user_id: str | None = None, app_id: str | None = None) -> ErasureAccepted:
        """Erase everything of one user in every store (needs the ``admin`` scope)."""
        return self._run(calls.delete_all(user_id=user_id, app_id=app_id))

    def history(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> MemoryHistory:
        """Every state and text change of a memory, with valid and known time."""
        return self._run(
            calls.history(
                memory_id,
                user_id=user_id,
                app_id=app_id,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def get_context(
        self,
        query: str,
        *,
        user_id: str | None = None,
        max_tokens: int = 1000,
        app_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        recipe: str | None = None,
        filters: Mapping[str, Any] | None = None,
        reference_time: When | None = None,
        as_of: When | None = None,
        known_as_of: When | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        include_blocks: bool = False,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> Context:
        """A prompt-ready block of the memories relevant to ``query`` within ``max_tokens`` (with the core
        memory blocks first when ``include_blocks``). ``str(context)`` is the text. ``messages``: as for ``search``;
        a question about a time alone gives that time's memories in the order they were said."""
        return self._run(
            calls.get_context(
                query,
                user_id=user_id,
                max_tokens=max_tokens,
                app_id=app_id,
                agent_id=agent_id,
                run_id=run_id,
                recipe=recipe,
                filters=filters,
                reference_time=reference_time,
                as_of=as_of,
                known_as_of=known_as_of,
                messages=messages,
                include_blocks=include_blocks,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def wait_for(self, token: str, *, user_id: str | None = None, app_id: str | None = None) -> None:
        """Return once the write behind ``token`` is visible to reads (the API waits up to its timeout, then
        503, which is retried). Without ``user_id``: the user this client wrote the token for."""
        scope = Scope(app_id, user_id) if user_id is not None or app_id is not None else None
        self._drive(self._engine.wait(token, scope))

    # --- core memory blocks --------------------------------------------------------------------------------------

    def list_blocks(
        self,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        as_of: When | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> list[Block]:
        """The user's core memory blocks: ``persona``, ``human``, then the others by label."""
        return self._run(
            calls.list_blocks(
                user_id=user_id,
                app_id=app_id,
                agent_id=agent_id,
                as_of=as_of,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def get_block(
        self,
        label: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        as_of: When | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> Block:
        return self._run(
            calls.get_block(
                label,
                user_id=user_id,
                app_id=app_id,
                agent_id=agent_id,
                as_of=as_of,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def create_block(
        self,
        label: str,
        value: str = "",
        *,
        limit: int | None = None,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> BlockWriteAccepted:
        """A new block (``limit`` in characters, default 2000); ``Conflict`` if the label exists."""
        return self._run(
            calls.create_block(label, value, limit=limit, user_id=user_id, app_id=app_id, agent_id=agent_id)
        )

    def append_block(
        self,
        label: str,
        content: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> BlockWriteAccepted:
        """Append a line to a block; ``InvalidRequest`` if it would pass the block's limit."""
        return self._run(calls.append_block(label, content, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def replace_block(
        self,
        label: str,
        old: str,
        new: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> BlockWriteAccepted:
        """Replace every occurrence of ``old`` (``new`` may be empty); ``Conflict`` if ``old`` is not there."""
        return self._run(calls.replace_block(label, old, new, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def delete_block(
        self, label: str, *, user_id: str | None = None, app_id: str | None = None, agent_id: str | None = None
    ) -> BlockWriteAccepted:
        """Delete a block (``persona`` and ``human`` go back to empty)."""
        return self._run(calls.delete_block(label, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def block_history(
        self,
        label: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        read_your_writes: bool | None = None,
    ) -> BlockHistory:
        """Every version of a block, oldest first (refused edits too, with the reason)."""
        return self._run(
            calls.block_history(
                label, user_id=user_id, app_id=app_id, agent_id=agent_id, read_your_writes=read_your_writes
            )
        )

    # --- memory tools --------------------------------------------------------------------------------------------

    def tools(self) -> list[dict[str, Any]]:
        """The five memory tools as OpenAI function-tool schemas: pass them as ``tools=`` to a chat completion."""
        return self._run(calls.tools())

    def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> ToolResult:
        """Run one memory tool by name; ``arguments`` an object or the model's JSON string."""
        return self._run(calls.call_tool(name, arguments, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def execute_tool_call(
        self, tool_call: Any, *, user_id: str | None = None, app_id: str | None = None, agent_id: str | None = None
    ) -> str:
        """Run a model's tool call (an OpenAI tool call, as a dict or the ``openai`` package's object) and return
        the text to hand back to the model. A refusal the model can correct (bad arguments, an unknown tool or
        label, text that is not in the block) comes back as ``"Error: <the API's message>"``; a refused
        credential, a rate limit past the retries or an outage raises."""
        name, arguments = tool_call_parts(tool_call)
        call = calls.call_tool(name, arguments, user_id=user_id, app_id=app_id, agent_id=agent_id)
        return self._drive(self._engine.dispatch(call))

    def core_memory_append(
        self,
        label: str,
        content: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> ToolResult:
        return self._run(calls.core_memory_append(label, content, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def core_memory_replace(
        self,
        label: str,
        old: str,
        new: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> ToolResult:
        return self._run(calls.core_memory_replace(label, old, new, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def archival_memory_insert(
        self, content: str, *, user_id: str | None = None, app_id: str | None = None, agent_id: str | None = None
    ) -> ToolResult:
        return self._run(calls.archival_memory_insert(content, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def archival_memory_search(
        self,
        query: str,
        page: int = 0,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> ToolResult:
        return self._run(calls.archival_memory_search(query, page, user_id=user_id, app_id=app_id, agent_id=agent_id))

    def conversation_search(
        self,
        query: str,
        start_date: When | None = None,
        end_date: When | None = None,
        page: int = 0,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
    ) -> ToolResult:
        """Full-text search of the conversation log, as the model's tool: dates ``YYYY-MM-DD`` or RFC 3339."""
        return self._run(
            calls.conversation_search(
                query, start_date, end_date, page, user_id=user_id, app_id=app_id, agent_id=agent_id
            )
        )

    def search_conversations(
        self,
        query: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        start_date: When | None = None,
        end_date: When | None = None,
        page: int | None = None,
        page_size: int | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> ConversationPage:
        """Full-text search over the user's conversation log (``POST /v1/conversations/search``), typed."""
        return self._run(
            calls.search_conversations(
                query,
                user_id=user_id,
                app_id=app_id,
                agent_id=agent_id,
                start_date=start_date,
                end_date=end_date,
                page=page,
                page_size=page_size,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def conversation_turns(
        self,
        conversation_id: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        newest_first: bool | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> ConversationLog:
        """One conversation's turns in the order they were said (``GET /v1/conversations/{id}/turns``), a page of
        ``limit`` (default 100, at most 1000) from ``offset``; ``newest_first=True`` reads from the end (the last N:
        ``limit=N``). An unknown conversation is an empty page."""
        return self._run(
            calls.conversation_turns(
                conversation_id,
                user_id=user_id,
                app_id=app_id,
                agent_id=agent_id,
                limit=limit,
                offset=offset,
                newest_first=newest_first,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )

    def sessions(
        self,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        conversation_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        consistency_token: str | None = None,
        read_your_writes: bool | None = None,
    ) -> SessionPage:
        """The user's conversation sessions (``GET /v1/sessions``), numbered per conversation in time order, by
        conversation then number; ``conversation_id`` narrows to one. A page of ``limit`` (default 100, at most
        1000) from ``offset``. Explicit sessions carry their ``session_id``; inferred ones (a pause longer than the
        server's session gap between turns added without one) have None."""
        return self._run(
            calls.sessions(
                user_id=user_id,
                app_id=app_id,
                conversation_id=conversation_id,
                limit=limit,
                offset=offset,
                consistency_token=consistency_token,
                read_your_writes=read_your_writes,
            )
        )
