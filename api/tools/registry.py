"""Tool name → what runs it: the definition a model sees, the scope a call needs, the handler.

A handler is ``async (services, scope, arguments) -> (text, data, consistency_token)``: ``scope`` is what
``api.gateway.tenancy.authorize`` allowed, ``arguments`` the call's arguments as an object (checked by the
handler, a 422 naming the argument when wrong), ``text`` what the model reads back, ``data`` the structured
result (or ``None``), ``consistency_token`` the write's token (``None`` for a read).

To add a tool: its definition in api.tools.definitions (``ALL`` fixes the listing order) and an entry in
``TOOLS``; ``GET /v1/tools`` and ``POST /v1/tools/{name}`` pick it up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from api.blocks.tool_handlers import core_memory_append, core_memory_replace
from api.gateway.principal import Scope as Permission
from api.services import Services
from api.tools import archival, definitions, recall
from memory.contract.events import Scope

ToolOutcome = tuple[str, dict[str, Any] | None, str | None]
Handler = Callable[[Services, Scope, dict[str, Any]], Awaitable[ToolOutcome]]


@dataclass(frozen=True)
class Tool:
    definition: dict[str, Any]
    needs: Permission
    handler: Handler

    @property
    def name(self) -> str:
        return definitions.name_of(self.definition)


TOOLS = (
    # The core memory tools edit the user's (or agent's) core memory blocks (api.blocks).
    Tool(definitions.CORE_MEMORY_APPEND, Permission.WRITE, core_memory_append),
    Tool(definitions.CORE_MEMORY_REPLACE, Permission.WRITE, core_memory_replace),
    Tool(definitions.ARCHIVAL_MEMORY_INSERT, Permission.WRITE, archival.insert),
    Tool(definitions.ARCHIVAL_MEMORY_SEARCH, Permission.READ, archival.search),
    Tool(definitions.CONVERSATION_SEARCH, Permission.READ, recall.search),
)


def registry(tools: tuple[Tool, ...] = TOOLS) -> dict[str, Tool]:
    """By name, in the order of ``definitions.ALL``."""
    order = [definitions.name_of(d) for d in definitions.ALL]
    unlisted = [tool.name for tool in tools if tool.name not in order]
    assert not unlisted, f"tools without a place in definitions.ALL: {unlisted}"
    return {tool.name: tool for tool in sorted(tools, key=lambda tool: order.index(tool.name))}


REGISTRY = registry()
