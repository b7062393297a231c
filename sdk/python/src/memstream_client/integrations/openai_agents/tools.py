"""memstream's memory tools as Agents SDK function tools.

The tools are the API's own (``GET /v1/tools``: names, descriptions written for a model, JSON Schema arguments),
so an agent gets the same tools, described the same way, as any other client. Each call runs through
``execute_tool_call``: a refusal the model can correct (bad arguments, an unknown block, text that is not in
it) comes back to the model as ``"Error: <the API's message>"``; a refused credential, a rate limit past the
retries or an outage raises, and the run stops with it (the model cannot fix those).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agents import FunctionTool, RunContextWrapper, Tool

from memstream_client.async_client import AsyncMemstream


async def memory_tools(
    client: AsyncMemstream,
    *,
    user_id: str | None = None,
    app_id: str | None = None,
    agent_id: str | None = None,
    names: list[str] | None = None,
) -> list[Tool]:
    """The memory tools acting for one user (and agent): all five, or those in ``names``.

    Their schemas leave optional arguments out of ``required`` (a page, a date range), so they are not sent in
    the strict mode that would force a model to fill in every one. Each is a ``FunctionTool``; the list is typed
    as the ``Tool`` union ``Agent(tools=...)`` takes.
    """
    schemas = await client.tools()
    tools: list[Tool] = []
    for schema in schemas:
        function = schema["function"]
        if names is not None and function["name"] not in names:
            continue
        tools.append(
            FunctionTool(
                name=function["name"],
                description=function["description"],
                params_json_schema=function["parameters"],
                on_invoke_tool=_invoker(client, function["name"], user_id, app_id, agent_id),
                strict_json_schema=False,
            )
        )
    unknown = sorted(set(names or ()) - {tool.name for tool in tools})
    if unknown:
        known = ", ".join(schema["function"]["name"] for schema in schemas)
        raise ValueError(f"no memory tool named {', '.join(unknown)}; the tools are {known}")
    return tools


def _invoker(
    client: AsyncMemstream, name: str, user_id: str | None, app_id: str | None, agent_id: str | None
) -> Callable[[RunContextWrapper[Any], str], Awaitable[str]]:
    async def invoke(context: RunContextWrapper[Any], arguments: str) -> str:
        # The model's JSON string goes to the API as written: a malformed one gets the API's message naming it.
        call = {"type": "function", "function": {"name": name, "arguments": arguments or "{}"}}
        return await client.execute_tool_call(call, user_id=user_id, app_id=app_id, agent_id=agent_id)

    return invoke
