"""``memstream mcp``: the MCP server of the Python SDK (``memstream_client.integrations.mcp``), started from the
server's command line. Thin on purpose: the server lives in the SDK, installable without memstream's server
(``pip install 'memstream-client[mcp]'``, then ``memstream-mcp``); this only defaults the API's address to where
this machine's settings serve it."""

from __future__ import annotations

import argparse
import os

from memstream_client.integrations.mcp import cli

from memory.settings import Settings


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    if args.base_url is None and not os.environ.get("MEMSTREAM_URL"):
        args.base_url = f"http://{settings.api_host}:{settings.api_port}"
    return cli.run(cli.config_from(args))


def add_commands(sub: argparse._SubParsersAction) -> None:
    mcp = sub.add_parser(
        "mcp",
        help="serve memories, core memory and the memory tools over MCP (stdio, or --transport http)",
    )
    cli.add_arguments(mcp)
    mcp.set_defaults(handler=cmd_mcp)
