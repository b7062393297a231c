"""The two core memory tools (MemGPT/Letta's ``core_memory_append`` and ``core_memory_replace``) as handlers the
tool registry (``api.tools.registry``: ``POST /v1/tools/{name}``) calls with the model's arguments, already
authorized for ``scope``.

Arguments come from a model, so each is checked here, and every refusal is a 422 naming the tool and what to
correct (the SDKs hand the message back to the model as the tool's result): a wrong argument, an unknown label,
old text that is not in the block, or an edit over the block's limit. The edit itself goes through
``BlockWriter``, with the routes' checks.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from api.blocks.reader import BlockReader
from api.blocks.schemas import BlockWriteAccepted
from api.blocks.writer import BlockWriter
from api.errors import ApiError, InvalidRequest, Unprocessable
from api.services import Services
from memory.blocks.rules import LABEL_PATTERN, MAX_LIMIT
from memory.contract.events import Scope
from memory.contract.validation import InvalidInput, check_block_text

ToolResult = tuple[str, dict[str, Any], str]
APPEND = "core_memory_append"
REPLACE = "core_memory_replace"
# The arguments each tool takes, all required (api.tools.definitions states them to the model).
ARGUMENTS = {APPEND: ("label", "content"), REPLACE: ("label", "old", "new")}
MAX_ARGUMENT_CHARS = 4 * MAX_LIMIT
_LABEL = re.compile(LABEL_PATTERN)


class ToolRefused(Unprocessable):
    def __init__(self, tool: str, problem: str):
        super().__init__(f"{tool}: {problem}")


def _checked(tool: str, arguments: dict[str, Any]) -> dict[str, str]:
    allowed = ARGUMENTS[tool]
    unknown = sorted(set(arguments) - set(allowed))
    if unknown:
        raise ToolRefused(tool, f"unknown argument {unknown[0]!r}; the arguments are {', '.join(allowed)}")
    values: dict[str, str] = {}
    for name in allowed:
        if name not in arguments:
            raise ToolRefused(tool, f"argument {name!r} is required")
        value = arguments[name]
        if not isinstance(value, str):
            raise ToolRefused(tool, f"argument {name!r} must be a string, got {type(value).__name__}")
        if not value and name != "new":  # an empty new text deletes the old one
            raise ToolRefused(tool, f"argument {name!r} must not be empty")
        if len(value) > MAX_ARGUMENT_CHARS:
            raise ToolRefused(tool, f"argument {name!r} is longer than {MAX_ARGUMENT_CHARS} characters")
        try:
            check_block_text(value, f"argument {name!r}")
        except InvalidInput as invalid:
            raise ToolRefused(tool, str(invalid)) from None
        values[name] = value
    if not _LABEL.fullmatch(values["label"]):
        raise ToolRefused(tool, f"argument 'label' must match {LABEL_PATTERN} (e.g. 'human' or 'persona')")
    return values


async def _writer(services: Services) -> BlockWriter:
    return BlockWriter(BlockReader((await services.view()).pool), services.commands, services.consistency)


def _result(accepted: BlockWriteAccepted, done: str) -> ToolResult:
    block = accepted.block
    text = f"{done} core memory block '{block.label}'. It now reads ({len(block.value)}/{block.limit} characters):\n"
    data: dict[str, Any] = msgspec.to_builtins(accepted)
    return text + block.value, data, accepted.consistency_token


def _as_tool_refusal(tool: str, error: ApiError) -> ApiError:
    """The block's refusals (404 unknown label, 409 old text missing, 422 over the limit) as the tool's 422; an
    outage or a bad token stays what it is."""
    if isinstance(error, InvalidRequest) or 404 <= error.status_code <= 422:
        return ToolRefused(tool, error.detail)
    return error


async def core_memory_append(services: Services, scope: Scope, arguments: dict[str, Any]) -> ToolResult:
    values = _checked(APPEND, arguments)
    try:
        accepted = await (await _writer(services)).append(scope, values["label"], values["content"])
    except ApiError as error:
        raise _as_tool_refusal(APPEND, error) from None
    return _result(accepted, "Appended to")


async def core_memory_replace(services: Services, scope: Scope, arguments: dict[str, Any]) -> ToolResult:
    values = _checked(REPLACE, arguments)
    try:
        accepted = await (await _writer(services)).replace(scope, values["label"], values["old"], values["new"])
    except ApiError as error:
        raise _as_tool_refusal(REPLACE, error) from None
    return _result(accepted, "Replaced text in")
