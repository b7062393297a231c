"""The five memory tools (``core_memory_append``, ``core_memory_replace``, ``archival_memory_insert``,
``archival_memory_search``, ``conversation_search``) as LangChain ``StructuredTool``s, for ``bind_tools`` and any
LangChain or LangGraph agent.

Names, descriptions and argument schemas are the API's own (``GET /v1/tools``), so the model reads what the API
serves to every client; calls go to ``POST /v1/tools/{name}`` for one user (and agent), and the tool's result
is the text the API wrote for the model. A refusal the model can correct (bad arguments, an unknown label, text
that is not in the block: the API's 400/404/409/422) is a ``ToolException`` whose message, ``"Error: ..."``, is
handed back to the model (``handle_tool_error=True``); a refused credential, a rate limit past the retries or an
outage raises, as the SDK's ``execute_tool_call`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_core.tools import StructuredTool, ToolException

from memstream_client.async_client import AsyncMemstream
from memstream_client.client import Memstream
from memstream_client.errors import MemstreamError, model_can_correct

Caller = Callable[[str, dict[str, Any]], str]
AsyncCaller = Callable[[str, dict[str, Any]], Awaitable[str]]


def memory_tools(
    client: Memstream | None = None,
    *,
    user_id: str | None = None,
    app_id: str | None = None,
    agent_id: str | None = None,
    async_client: AsyncMemstream | None = None,
) -> list[StructuredTool]:
    """The memory tools of one user, their schemas read from the API with ``client`` (default ``Memstream()``);
    with ``async_client`` too, the tools also run natively under ``ainvoke``."""
    client = client if client is not None else Memstream()
    scope = {"user_id": user_id, "app_id": app_id, "agent_id": agent_id}

    def call(name: str, arguments: dict[str, Any]) -> str:
        return client.call_tool(name, arguments, **scope).text

    acall: AsyncCaller | None = None
    if async_client is not None:
        async_memory = async_client

        async def acall(name: str, arguments: dict[str, Any]) -> str:
            return (await async_memory.call_tool(name, arguments, **scope)).text

    return [tool_of(schema, call, acall) for schema in client.tools()]


async def amemory_tools(
    async_client: AsyncMemstream,
    *,
    user_id: str | None = None,
    app_id: str | None = None,
    agent_id: str | None = None,
) -> list[StructuredTool]:
    """``memory_tools`` for async code: the schemas read with ``async_client``; the tools run under ``ainvoke``
    only (LangChain refuses ``invoke`` on a tool without a sync function)."""
    scope = {"user_id": user_id, "app_id": app_id, "agent_id": agent_id}

    async def acall(name: str, arguments: dict[str, Any]) -> str:
        return (await async_client.call_tool(name, arguments, **scope)).text

    return [tool_of(schema, None, acall) for schema in await async_client.tools()]


def tool_of(schema: Mapping[str, Any], call: Caller | None, acall: AsyncCaller | None) -> StructuredTool:
    """A StructuredTool from an OpenAI function-tool schema (``{"type": "function", "function": {...}}``)."""
    function = schema["function"]
    name: str = function["name"]

    def run(**arguments: Any) -> str:
        assert call is not None  # LangChain calls func only when it is set
        try:
            return call(name, arguments)
        except MemstreamError as error:
            if model_can_correct(error):
                raise ToolException(f"Error: {error.message}") from error
            raise

    async def arun(**arguments: Any) -> str:
        assert acall is not None
        try:
            return await acall(name, arguments)
        except MemstreamError as error:
            if model_can_correct(error):
                raise ToolException(f"Error: {error.message}") from error
            raise

    return StructuredTool(
        name=name,
        description=function.get("description", ""),
        # The API's JSON schema as is: LangChain passes the model's arguments through and the API checks them,
        # naming the argument in its refusal.
        args_schema=dict(function.get("parameters") or {"type": "object", "properties": {}}),
        func=run if call is not None else None,
        coroutine=arun if acall is not None else None,
        handle_tool_error=True,
    )
