"""How an MCP server of memstream is configured (no ``mcp`` import here: the command line builds this first)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 18090  # beside the API's 18080 (`memstream run`)
DEFAULT_HTTP_PATH = "/mcp"


class Transport(str, Enum):
    STDIO = "stdio"  # one client, one credential (the server's own, from the environment or --api-key)
    HTTP = "http"  # streamable HTTP: many clients, each request's own bearer credential


@dataclass(frozen=True)
class ServerConfig:
    """``base_url``/``api_key`` None: ``MEMSTREAM_URL``/``MEMSTREAM_API_KEY`` (as for ``Memstream``).

    ``api_key`` is used on stdio only: over HTTP each request's ``Authorization: Bearer`` credential is the one sent
    to the API, and a request without one is refused. ``user_id``/``agent_id``/``app_id`` are defaults for the tools
    and resources, not limits: a call may name another user, which the API allows only if the credential does.
    """

    transport: Transport = Transport.STDIO
    base_url: str | None = None
    api_key: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    host: str = DEFAULT_HTTP_HOST
    port: int = DEFAULT_HTTP_PORT
    path: str = DEFAULT_HTTP_PATH
    # How long the HTTP server trusts that a bearer credential verifies before asking the API again. Only the door
    # is cached: every tool call still sends the credential to the API, which refuses a revoked one at once.
    verify_cache_seconds: float = 30.0
