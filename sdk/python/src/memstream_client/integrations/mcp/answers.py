"""How the API's answers and refusals reach an MCP client.

A tool's answer is a ``CallToolResult``: text for the model (JSON of the result, or the memory tool's own text)
and the same data as ``structuredContent`` for the application. A refusal of the API is a tool error
(``isError``) carrying the API's message and status, which the model can read and act on; a resource that cannot
be read is the protocol's error, with the API's message. Nothing the API answers stops the server.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, TextContent

from memstream_client.errors import APIError, ClientError, MemstreamError

T = TypeVar("T")


def plain(value: Any) -> Any:
    """An SDK result as JSON-ready data: dataclasses to objects, times to RFC 3339."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def answer(data: dict[str, Any], text: str | None = None) -> CallToolResult:
    """``text`` for the model (default: the data as JSON); ``data`` as structured content."""
    body = text if text is not None else json.dumps(data, ensure_ascii=False, indent=1)
    return CallToolResult(content=[TextContent(type="text", text=body)], structured_content=data)


def refusal_text(error: MemstreamError) -> str:
    if isinstance(error, APIError):
        return f"the memstream API refused the call ({error.status_code}): {error.message}"
    return f"the memstream API could not be reached: {error.message}"


async def from_api(call: Awaitable[T]) -> T:
    """Await an SDK call in a tool: a refusal becomes the tool's error result, with the API's message."""
    try:
        return await call
    except MemstreamError as error:
        raise ToolError(refusal_text(error)) from error


async def for_resource(call: Awaitable[T]) -> T:
    """Await an SDK call in a resource: a refusal becomes the protocol's error, with the API's message (a 4xx is the
    request's fault: invalid params; anything else is ours)."""
    try:
        return await call
    except MemstreamError as error:
        code = INVALID_PARAMS if isinstance(error, ClientError) else INTERNAL_ERROR
        status = error.status_code if isinstance(error, APIError) else None
        raise MCPError(code=code, message=refusal_text(error), data={"status": status}) from error
