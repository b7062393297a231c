"""memstream as a Model Context Protocol server (``pip install 'memstream-client[mcp]'``).

``memstream-mcp`` (or ``memstream mcp`` where the server is installed, or ``python -m
memstream_client.integrations.mcp``) serves a user's memories, core memory blocks and conversation log to any MCP
client, over stdio or streamable HTTP, by calling the memstream API with this package's ``AsyncMemstream``. What a
caller may do is what its API credential may do: the API decides, call by call.

``memstream_client.integrations.mcp.server.build_server(config)`` returns the ``mcp`` SDK's ``MCPServer`` with the
tools and resources registered, for embedding; ``serve(config)`` runs it on the configured transport. This package
itself imports nothing of ``mcp`` (only ``.server`` and what it uses do), so the command line can say how to install
the extra when it is missing.
"""

from memstream_client.integrations.mcp.config import ServerConfig, Transport

__all__ = ["ServerConfig", "Transport"]
