"""The MCP resources: a user's core memory blocks, for a client to attach to a conversation.

``memstream://users/{user_id}/blocks`` is every block of the user as JSON (``?agent_id=`` for an agent's own
blocks); ``memstream://users/{user_id}/blocks/{label}`` is one block's text. A server started for one user
(``--user-id``) also lists that user's blocks as a resource, so clients that only offer listed resources show it.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer

from memstream_client.integrations.mcp.answers import for_resource, plain
from memstream_client.integrations.mcp.scoping import Scoping

BLOCKS = "memstream://users/{user_id}/blocks"
BLOCK = "memstream://users/{user_id}/blocks/{label}"


def register_resources(server: MCPServer[Any], scoping: Scoping) -> None:
    async def read_blocks(user_id: str, agent_id: str | None = None) -> str:
        caller = scoping.caller(user_id, agent_id)
        blocks = await for_resource(
            caller.client.list_blocks(user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id)
        )
        return json.dumps({"blocks": plain(blocks)}, ensure_ascii=False, indent=1)

    async def read_block(user_id: str, label: str, agent_id: str | None = None) -> str:
        caller = scoping.caller(user_id, agent_id)
        block = await for_resource(
            caller.client.get_block(label, user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id)
        )
        return block.value

    server.resource(
        BLOCKS + "{?agent_id}",
        name="core_memory_blocks",
        title="Core memory blocks",
        description="A user's core memory blocks (persona, human and any others): label, text, character limit and"
        " version of each, as JSON. Add ?agent_id=... for an agent's own blocks.",
        mime_type="application/json",
    )(read_blocks)
    server.resource(
        BLOCK + "{?agent_id}",
        name="core_memory_block",
        title="Core memory block",
        description="One core memory block's text ('persona': who the assistant is; 'human': what it knows about"
        " the user). Add ?agent_id=... for an agent's own block.",
        mime_type="text/plain",
    )(read_block)

    if scoping.default_user:
        user = scoping.default_user

        async def read_own_blocks() -> str:
            return await read_blocks(user)

        server.resource(
            BLOCKS.format(user_id=user),
            name="my_core_memory_blocks",
            title=f"Core memory blocks of {user}",
            description=f"The core memory blocks of this server's user, {user}, as JSON.",
            mime_type="application/json",
        )(read_own_blocks)
