"""The command line of the MCP server, shared by ``memstream-mcp`` and ``memstream mcp``.

Building the parser imports nothing of ``mcp``, so ``memstream --help`` works where the extra is not installed;
``run`` imports the server and says how to install it when it is missing.
"""

from __future__ import annotations

import argparse
import sys

from memstream_client.integrations.mcp.config import (
    DEFAULT_HTTP_HOST,
    DEFAULT_HTTP_PATH,
    DEFAULT_HTTP_PORT,
    ServerConfig,
    Transport,
)

INSTALL_HINT = "the MCP server needs the mcp extra: pip install 'memstream-client[mcp]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transport",
        choices=[t.value for t in Transport],
        default=Transport.STDIO.value,
        help="stdio (default: one client, started by it) or http (streamable HTTP on --host/--port)",
    )
    parser.add_argument("--url", dest="base_url", help="the memstream API (default: MEMSTREAM_URL, else :18080)")
    parser.add_argument(
        "--api-key",
        help="stdio: the credential sent to the API (default: MEMSTREAM_API_KEY). Over http every request brings"
        " its own as Authorization: Bearer, and this is not used",
    )
    parser.add_argument("--user-id", help="the user tools and resources act for when a call names none")
    parser.add_argument("--agent-id", help="the agent scope tools act in when a call names none")
    parser.add_argument("--app-id", help="the app (default: the credential's own)")
    parser.add_argument(
        "--host", default=DEFAULT_HTTP_HOST, help=f"http: address to bind (default {DEFAULT_HTTP_HOST})"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT, help=f"http: port (default {DEFAULT_HTTP_PORT})")
    parser.add_argument(
        "--path", default=DEFAULT_HTTP_PATH, help=f"http: the endpoint's path (default {DEFAULT_HTTP_PATH})"
    )


def config_from(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        transport=Transport(args.transport),
        base_url=args.base_url,
        api_key=args.api_key,
        user_id=args.user_id,
        agent_id=args.agent_id,
        app_id=args.app_id,
        host=args.host,
        port=args.port,
        path=args.path,
    )


def run(config: ServerConfig) -> int:
    try:
        from memstream_client.integrations.mcp.server import serve
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in {"mcp", "mcp_types", "starlette", "uvicorn"}:
            print(f"{INSTALL_HINT} ({exc.name} is missing)", file=sys.stderr)
            return 2
        raise
    serve(config)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="memstream-mcp", description="memstream's memories, core memory and conversation log as an MCP server"
    )
    add_arguments(parser)
    return run(config_from(parser.parse_args(argv)))
