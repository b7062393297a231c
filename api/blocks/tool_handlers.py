"""The two core memory tools (MemGPT/Letta's ``core_memory_append`` and ``core_memory_replace``) as handlers the
tool registry (``POST /v1/tools/{name}``) calls with the model's arguments, already authorized for ``scope``.

Arguments come from a model, so each is checked here with a 422 that names it (the model reads the message and
can correct itself); the edit itself goes through ``BlockWriter``, with the routes' checks and refusals.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from api.blocks.reader import BlockReader
from api.blocks.schemas import BlockWriteAccepted
from api.blocks.writer import BlockWriter
from api.errors import Unprocessable
from api.services import Services
from memory.blocks.rules import LABEL_PATTERN, MAX_LIMIT
from memory.contract.events import Scope
from memory.contract.validation import InvalidInput, check_block_text

ToolResult = tuple[str, dict[str, Any], str]
_LABEL = re.compile(LABEL_PATTERN)
MAX_ARGUMENT_CHARS = 4 * MAX_LIMIT


def _string(arguments: dict[str, Any], name: str, *, may_be_empty: bool = False) -> str:
    if name not in arguments:
        raise Unprocessable(f"argument {name!r} is required")
    value = arguments[name]
    if not isinstance(value, str):
        raise Unprocessable(f"argument {name!r} must be a string, got {type(value).__name__}")
    if not value and not may_be_empty:
        raise Unprocessable(f"argument {name!r} must not be empty")
    if len(value) > MAX_ARGUMENT_CHARS:
        raise Unprocessable(f"argument {name!r} is longer than {MAX_ARGUMENT_CHARS} characters")
    try:
        check_block_text(value, f"argument {name!r}")
    except InvalidInput as invalid:
        raise Unprocessable(str(invalid)) from None
    return value


def _label(arguments: dict[str, Any]) -> str:
    label = _string(arguments, "label")
    if not _LABEL.fullmatch(label):
        raise Unprocessable(f"argument 'label' must match {LABEL_PATTERN} (e.g. 'human' or 'persona')")
    return label


def _only(arguments: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(arguments) - set(allowed))
    if unknown:
        raise Unprocessable(f"unknown argument {unknown[0]!r}; expected {', '.join(allowed)}")


async def _writer(services: Services) -> BlockWriter:
    return BlockWriter(BlockReader((await services.view()).pool), services.commands, services.consistency)


def _result(accepted: BlockWriteAccepted, done: str) -> ToolResult:
    block = accepted.block
    text = f"{done} core memory block '{block.label}'. It now reads ({len(block.value)}/{block.limit} characters):\n"
    data: dict[str, Any] = msgspec.to_builtins(accepted)
    return text + block.value, data, accepted.consistency_token


async def core_memory_append(services: Services, scope: Scope, arguments: dict[str, Any]) -> ToolResult:
    _only(arguments, ("label", "content"))
    label, content = _label(arguments), _string(arguments, "content")
    accepted = await (await _writer(services)).append(scope, label, content)
    return _result(accepted, "Appended to")


async def core_memory_replace(services: Services, scope: Scope, arguments: dict[str, Any]) -> ToolResult:
    _only(arguments, ("label", "old", "new"))
    label, old = _label(arguments), _string(arguments, "old")
    new = _string(arguments, "new", may_be_empty=True)
    accepted = await (await _writer(services)).replace(scope, label, old, new)
    return _result(accepted, "Replaced text in")
