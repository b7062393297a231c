"""memstream over MCP, as an MCP client sees it: start ``memstream-mcp`` over stdio, list its tools, remember a fact,
find it again and read the user's core memory blocks.

    make run                                                   # in one terminal: the API
    export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
    .venv/bin/python examples/mcp_memory.py                    # in another

The client here is the official MCP Python SDK's (what Claude Desktop or Cursor do through their configuration).
"""

from __future__ import annotations

import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult, TextContent, TextResourceContents

USER = "mcp_example_user"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def main() -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "memstream_client.integrations.mcp", "--user-id", USER],  # = memstream-mcp --user-id ...
        env=dict(os.environ),  # MEMSTREAM_API_KEY, MEMSTREAM_URL
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        print("tools:", ", ".join(tool.name for tool in (await session.list_tools()).tools))

        print(text_of(await session.call_tool("add_memory", {"text": "I am allergic to peanuts", "infer": False})))
        found = await session.call_tool("search_memories", {"query": "food allergies", "limit": 3})
        print("search:", text_of(found))

        await session.call_tool("core_memory_append", {"label": "human", "content": "Allergic to peanuts."})
        blocks = (await session.read_resource(f"memstream://users/{USER}/blocks/human")).contents
        print("core memory 'human':", [c.text for c in blocks if isinstance(c, TextResourceContents)])

        refused = await session.call_tool("get_memory", {"memory_id": "no-such-memory"})
        print("an error is a tool result:", refused.is_error, text_of(refused))


if __name__ == "__main__":
    anyio.run(main)
