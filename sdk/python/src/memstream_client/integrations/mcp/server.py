"""The MCP server: the tools and resources on the ``mcp`` SDK's ``MCPServer``, over stdio or streamable HTTP.

*How HTTP is authenticated*: every request to the endpoint must carry ``Authorization: Bearer <credential>``;
the SDK's bearer middleware asks ``ApiCredentialCheck`` (one ``GET /v1/tools`` with it, remembered
``verify_cache_seconds``) and answers 401 to a request without a credential, or with one the API refuses. The
credential then travels with each tool call to the API (the SDK carries the request's token into the handler),
which enforces its app, user and scopes exactly as for a REST caller: a read-only key's write is the tool's
error naming the missing scope. An MCP session belongs to the credential that opened it.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import uvicorn
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette

from memstream_client.config import base_url_from
from memstream_client.integrations.mcp.access import ApiCredentialCheck, CallerCredential, Clients
from memstream_client.integrations.mcp.config import ServerConfig, Transport
from memstream_client.integrations.mcp.resources import register_resources
from memstream_client.integrations.mcp.scoping import Scoping
from memstream_client.integrations.mcp.tools import memory_tools
from memstream_client.version import __version__

INSTRUCTIONS = """memstream is the user's long-term memory. Search it (search_memories, get_context) before \
answering what depends on the user; add what they tell you that is worth keeping (add_memory, or \
archival_memory_insert verbatim); keep core memory (core_memory_append/replace) for what must always be in view. \
Memories are per user: pass user_id unless the server has a default user or your credential is bound to one."""


def build_server(config: ServerConfig, clients: Clients | None = None) -> tuple[MCPServer[Any], Clients]:
    """The server and the clients it calls the API with (close them with ``Clients.aclose`` when done)."""
    clients = clients or Clients(config.base_url)
    per_request = config.transport is Transport.HTTP
    own_key = config.api_key if config.api_key is not None else os.environ.get("MEMSTREAM_API_KEY")
    fixed_key = None if per_request else own_key  # over HTTP a key of the server's own must never be used
    scoping = Scoping(clients, CallerCredential(fixed_key, per_request), config.user_id, config.agent_id, config.app_id)
    http_auth: dict[str, Any] = {}
    if per_request:
        http_auth = {
            "token_verifier": ApiCredentialCheck(clients, config.verify_cache_seconds),
            # The API issues the credentials; no OAuth metadata is served (resource_server_url None), so clients
            # send the key they were configured with instead of starting an OAuth flow.
            "auth": AuthSettings(issuer_url=base_url_from(config.base_url), resource_server_url=None),  # type: ignore[arg-type]
        }
    server: MCPServer[Any] = MCPServer(
        "memstream",
        title="memstream memory",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=memory_tools(scoping),
        log_level="WARNING",
        **http_auth,
    )
    register_resources(server, scoping)
    return server, clients


def http_app(config: ServerConfig) -> tuple[Starlette, Clients]:
    server, clients = build_server(config)
    app = server.streamable_http_app(streamable_http_path=config.path, host=config.host)
    return app, clients


async def serve_async(config: ServerConfig) -> None:
    if config.transport is Transport.HTTP:
        app, clients = http_app(config)
        uv = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning"))
        try:
            await uv.serve()
        finally:
            await clients.aclose()
        return
    server, clients = build_server(config)
    try:
        await server.run_stdio_async()  # stdout carries the protocol: nothing else may print there
    finally:
        await clients.aclose()


def serve(config: ServerConfig) -> None:
    anyio.run(serve_async, config)
