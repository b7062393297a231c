"""Bodies of the tool routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from api.schemas import AppId, NonEmptyId, UserId, stated


class FunctionSpec(msgspec.Struct):
    name: str
    description: str
    # JSON Schema of the arguments.
    parameters: dict[str, Any]


class FunctionTool(msgspec.Struct):
    type: Literal["function"]
    function: FunctionSpec


class ToolList(msgspec.Struct):
    tools: list[FunctionTool]


# The tool call's arguments as the model produced them: an object, or its JSON text (checked by the tool: 422).
Arguments = Annotated[
    dict[str, Any] | str,
    stated("the tool's arguments: a JSON object, or the JSON text of one as a model emits it (a 422 names a bad one)"),
]


class ToolCallRequest(msgspec.Struct, forbid_unknown_fields=True):
    arguments: Arguments
    user_id: UserId | None = None
    app_id: AppId | None = None
    agent_id: NonEmptyId | None = None


class ToolResult(msgspec.Struct):
    name: str
    # What to hand back to the model as the tool's result.
    text: str
    # The structured result, or null.
    data: dict[str, Any] | None
    # Set by a write: pass it to a read to wait until the write is applied.
    consistency_token: str | None
