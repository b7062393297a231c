"""The MCP server (``memstream mcp``, ``memstream_client.integrations.mcp``) against the running system, driven by
the official MCP client (the ``mcp`` package's ``ClientSession`` over ``stdio_client`` and
``streamable_http_client``): the tools listed, each tool called, the core block resources read, the API's refusals
as tool errors (and the server still serving after them), authentication on HTTP (no credential or a wrong one:
401; a read-only key: writes are tool errors naming the missing scope) and two users kept apart.

The stdio server is a child process the client starts (``memstream mcp``, credential from MEMSTREAM_API_KEY); the
HTTP server is one ``memstream mcp --transport http`` process for the module, on its own port.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent, TextResourceContents

from api.gateway.principal import Scope as KeyScope
from memory.settings import PROJECT_ROOT
from tests.e2e.conftest import RunningSystem, free_port
from tests.support import issue_key, unique

EVERY_TOOL = {
    "add_memory",
    "search_memories",
    "get_context",
    "list_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "memory_history",
    "core_memory_append",
    "core_memory_replace",
    "archival_memory_insert",
    "archival_memory_search",
    "conversation_search",
}


# --- the servers and the client ---------------------------------------------------------------------------------


def memstream_mcp(system: RunningSystem, *args: str) -> list[str]:
    return [sys.executable, "-m", "memstream_cli.main", "mcp", "--url", system.system.base_url, *args]


@contextlib.asynccontextmanager
async def stdio_session(system: RunningSystem, key: str, *args: str) -> AsyncIterator[ClientSession]:
    """``memstream mcp`` over stdio, started by the MCP client, its credential in MEMSTREAM_API_KEY."""
    env = {**os.environ, **system.settings.to_env(), "MEMSTREAM_API_KEY": key}
    command, *arguments = memstream_mcp(system, *args)
    server = StdioServerParameters(command=command, args=arguments, env=env, cwd=PROJECT_ROOT)
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@pytest.fixture(scope="module")
def http_server(system: RunningSystem, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``memstream mcp --transport http`` on a port of its own; its endpoint URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("mcp") / "mcp-http.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            memstream_mcp(system, "--transport", "http", "--port", str(port)),
            env={**os.environ, **system.settings.to_env()},
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the MCP HTTP server exited: {log.read_text()}"
            try:
                httpx.post(url, json={}, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"the MCP HTTP server did not listen: {log.read_text()}"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def http_session(url: str, key: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def session_over(
    transport: str, system: RunningSystem, http_url: str, key: str, *stdio_args: str
) -> AsyncIterator[ClientSession]:
    if transport == "stdio":
        async with stdio_session(system, key, *stdio_args) as session:
            yield session
    else:
        async with http_session(http_url, key) as session:
            yield session


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call(session: ClientSession, name: str, **arguments: Any) -> CallToolResult:
    """A tool call that must succeed: its result, with the error text in the failure message otherwise."""
    result = await session.call_tool(name, arguments)
    assert not result.is_error, f"{name} failed: {text_of(result)}"
    return result


async def refused(session: ClientSession, name: str, **arguments: Any) -> str:
    """A tool call that must come back as a tool error (not a protocol error, not a crash): its text."""
    result = await session.call_tool(name, arguments)
    assert result.is_error, f"{name} should have been refused, answered: {text_of(result)}"
    return text_of(result)


async def read_text(session: ClientSession, uri: str) -> str:
    contents = (await session.read_resource(uri)).contents
    assert len(contents) == 1 and isinstance(contents[0], TextResourceContents)
    return contents[0].text


# --- tools and resources listed ---------------------------------------------------------------------------------


async def test_stdio_lists_every_tool_and_the_block_resources(system: RunningSystem) -> None:
    user = unique("mcp-lister-")
    async with stdio_session(system, system.admin_key, "--user-id", user) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == EVERY_TOOL
        for tool in tools.values():
            assert tool.description and len(tool.description) > 60, tool.name  # written for a model to read
            assert tool.input_schema["type"] == "object"
        search = tools["search_memories"].input_schema
        assert search["required"] == ["query"]
        assert user in search["properties"]["user_id"]["description"]  # the server's user is the default
        assert tools["search_memories"].annotations and tools["search_memories"].annotations.read_only_hint
        assert tools["delete_memory"].annotations and tools["delete_memory"].annotations.destructive_hint

        listed = [str(r.uri) for r in (await session.list_resources()).resources]
        assert listed == [f"memstream://users/{user}/blocks"]
        templates = {t.uri_template for t in (await session.list_resource_templates()).resource_templates}
        assert templates == {
            "memstream://users/{user_id}/blocks{?agent_id}",
            "memstream://users/{user_id}/blocks/{label}{?agent_id}",
        }


# --- every tool, over both transports ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_every_tool_and_the_block_resources(system: RunningSystem, http_server: str, transport: str) -> None:
    user = unique(f"mcp-{transport}-")
    # stdio: the server's user is the default and no call names it; http: each call names the user.
    me: dict[str, str] = {} if transport == "stdio" else {"user_id": user}
    async with session_over(transport, system, http_server, system.admin_key, "--user-id", user) as session:
        added = await call(session, "add_memory", text="My favourite tea is genmaicha", infer=False, **me)
        assert added.structured_content and added.structured_content["event_ids"]

        # read-your-writes inside the server: the next read waits until the add is visible
        listed = (await call(session, "list_memories", **me)).structured_content
        assert listed and [m["memory"] for m in listed["results"]] == ["My favourite tea is genmaicha"]
        memory_id = listed["results"][0]["id"]
        assert listed["results"][0]["user_id"] == user

        found = (await call(session, "search_memories", query="which tea do I like", limit=3, **me)).structured_content
        assert found and found["results"][0]["id"] == memory_id
        got = await call(session, "get_memory", memory_id=memory_id, **me)
        assert json.loads(text_of(got))["memory"] == "My favourite tea is genmaicha"  # the model reads JSON

        await call(session, "update_memory", memory_id=memory_id, text="My favourite tea is sencha", **me)
        got = (await call(session, "get_memory", memory_id=memory_id, **me)).structured_content
        assert got and got["memory"] == "My favourite tea is sencha"
        history = (await call(session, "memory_history", memory_id=memory_id, **me)).structured_content
        assert history and {"My favourite tea is genmaicha", "My favourite tea is sencha"} <= {
            e["text"] for e in history["entries"]
        }

        await call(session, "core_memory_append", label="human", content="Name: Ana. Drinks green tea.", **me)
        await call(session, "core_memory_replace", label="human", old="Ana", new="Ana Lima", **me)
        assert await read_text(session, f"memstream://users/{user}/blocks/human") == "Name: Ana Lima. Drinks green tea."
        blocks = json.loads(await read_text(session, f"memstream://users/{user}/blocks"))["blocks"]
        assert {b["label"]: b["value"] for b in blocks}["human"] == "Name: Ana Lima. Drinks green tea."

        context = await call(session, "get_context", query="what tea do I drink", max_tokens=300, **me)
        assert "sencha" in text_of(context) and "Ana Lima" in text_of(context)  # memories and core memory

        inserted = await call(session, "archival_memory_insert", content="Ana visited Kyoto in April 2026", **me)
        assert inserted.structured_content is not None
        archival = await call(session, "archival_memory_search", query="Kyoto trip", **me)
        assert "Kyoto" in text_of(archival)

        await call(session, "add_memory", text="I am learning the shakuhachi flute", **me)
        said = await call(session, "conversation_search", query="shakuhachi", **me)
        assert "shakuhachi" in text_of(said)

        await call(session, "delete_memory", memory_id=memory_id, **me)
        remaining = (await call(session, "list_memories", **me)).structured_content
        assert remaining and memory_id not in {m["id"] for m in remaining["results"]}


# --- errors are tool errors -------------------------------------------------------------------------------------


async def test_refusals_come_back_as_tool_errors_and_the_server_goes_on(system: RunningSystem) -> None:
    user = unique("mcp-errors-")
    async with stdio_session(system, system.admin_key, "--user-id", user) as session:
        missing = await refused(session, "get_memory", memory_id="00000000-0000-0000-0000-000000000000")
        assert "404" in missing

        await call(session, "core_memory_append", label="human", content="Likes jazz")
        not_there = await refused(session, "core_memory_replace", label="human", old="likes rock", new="x")
        assert "422" in not_there and "'likes rock' is not in core memory block 'human'" in not_there  # the API's words

        out_of_range = await refused(session, "search_memories", query="anything", limit=0)
        assert "limit" in out_of_range  # the tool's schema, checked before the API is called

        unknown_block = await refused(session, "core_memory_append", label="no_such_block", content="x")
        assert "422" in unknown_block and "'no_such_block' does not exist" in unknown_block

        with pytest.raises(MCPError, match="404"):
            await session.read_resource(f"memstream://users/{user}/blocks/no_such_block")

        # after all that, the server still answers
        assert "Likes jazz" in await read_text(session, f"memstream://users/{user}/blocks/human")


async def test_stdio_without_a_credential_answers_the_apis_401_as_a_tool_error(system: RunningSystem) -> None:
    async with stdio_session(system, "", "--user-id", unique("mcp-anon-")) as session:
        message = await refused(session, "list_memories")
        assert "401" in message


# --- authentication and scopes over HTTP ------------------------------------------------------------------------


def test_http_refuses_requests_without_a_credential_the_api_accepts(system: RunningSystem, http_server: str) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, {"Authorization": "Bearer ms_nothere_notakey"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        answer = httpx.post(http_server, json=initialize, headers={**accept, **headers}, timeout=30)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer")
    genuine = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), name="mcp accepted")
    answer = httpx.post(
        http_server, json=initialize, headers={**accept, "Authorization": f"Bearer {genuine}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text


async def test_http_client_without_a_credential_cannot_even_initialize(http_server: str) -> None:
    with pytest.raises(Exception) as raised:  # what the client raises for a 401 is its own affair
        async with http_session(http_server, None):
            pass
    # the client reports the server's 401 as an error response (the status itself: the test above)
    assert any(isinstance(error, MCPError) for error in leaves(raised.value)), repr(raised.value)


def leaves(error: BaseException) -> list[BaseException]:
    """An exception and, for an exception group (anyio's task groups raise them), every exception inside it."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error, *([error.__cause__] if error.__cause__ else [])]


async def test_http_read_only_key_reads_and_its_writes_are_tool_errors_naming_the_scope(
    system: RunningSystem, http_server: str
) -> None:
    user = unique("mcp-reader-")
    reader = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), name="mcp read-only")
    async with http_session(http_server, reader) as session:
        assert (await call(session, "list_memories", user_id=user)).structured_content == {
            "results": [],
            "total": 0,
            "limit": 20,
            "offset": 0,
        }
        await call(session, "search_memories", query="anything", user_id=user)
        for name, arguments in (
            ("add_memory", {"text": "I like tea"}),
            ("archival_memory_insert", {"content": "I like tea"}),
            ("core_memory_append", {"label": "human", "content": "Likes tea"}),
        ):
            message = await refused(session, name, user_id=user, **arguments)
            assert "403" in message and "memories:write" in message, message
    with system.client() as admin:
        assert admin.get("/v1/memories", params={"user_id": user}).json()["total"] == 0


async def test_http_two_users_are_kept_apart(system: RunningSystem, http_server: str) -> None:
    alice, bob = unique("mcp-alice-"), unique("mcp-bob-")
    alice_key = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ, KeyScope.WRITE), user_id=alice)
    bob_key = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ, KeyScope.WRITE), user_id=bob)
    async with http_session(http_server, alice_key) as as_alice, http_session(http_server, bob_key) as as_bob:
        # user-bound keys: no call names the user, each lands in the key's own
        await call(as_alice, "add_memory", text="Alice's locker code is 4711", infer=False)
        await call(as_alice, "core_memory_append", label="human", content="Alice keeps bees")
        await call(as_bob, "add_memory", text="Bob's favourite colour is teal", infer=False)

        alice_sees = (await call(as_alice, "list_memories")).structured_content
        bob_sees = (await call(as_bob, "list_memories")).structured_content
        assert alice_sees and [m["memory"] for m in alice_sees["results"]] == ["Alice's locker code is 4711"]
        assert bob_sees and [m["memory"] for m in bob_sees["results"]] == ["Bob's favourite colour is teal"]
        found = (await call(as_bob, "search_memories", query="locker code 4711")).structured_content
        assert found and all("4711" not in hit["memory"] for hit in found["results"])

        # Bob naming Alice is refused by the API (403), as a tool error; her blocks are not his to read either
        assert "403" in await refused(as_bob, "list_memories", user_id=alice)
        alice_memory = alice_sees["results"][0]["id"]
        assert "404" in await refused(as_bob, "get_memory", memory_id=alice_memory)
        assert "404" in await refused(as_bob, "delete_memory", memory_id=alice_memory)
        with pytest.raises(MCPError, match="403"):
            await as_bob.read_resource(f"memstream://users/{alice}/blocks/human")
        assert await read_text(as_alice, f"memstream://users/{alice}/blocks/human") == "Alice keeps bees"
        assert await read_text(as_bob, f"memstream://users/{bob}/blocks/human") == ""
        still = (await call(as_alice, "get_memory", memory_id=alice_memory)).structured_content
        assert still and still["memory"] == "Alice's locker code is 4711"


async def test_http_session_belongs_to_the_key_that_opened_it(system: RunningSystem, http_server: str) -> None:
    other = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), name="mcp other")
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream"}
    opened = httpx.post(
        http_server, json=initialize, headers={**accept, "Authorization": f"Bearer {system.admin_key}"}, timeout=30
    )
    session_id = opened.headers.get("mcp-session-id")
    assert opened.status_code == 200 and session_id
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    hijack = httpx.post(
        http_server,
        json=listing,
        headers={**accept, "Authorization": f"Bearer {other}", "mcp-session-id": session_id},
        timeout=30,
    )
    assert hijack.status_code == 404


# --- the example ------------------------------------------------------------------------------------------------


def test_the_example_runs_against_the_api(system: RunningSystem) -> None:
    env = {**os.environ, "MEMSTREAM_URL": system.system.base_url, "MEMSTREAM_API_KEY": system.admin_key}
    done = subprocess.run(
        [sys.executable, "examples/mcp_memory.py"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "add_memory" in done.stdout and "I am allergic to peanuts" in done.stdout
    assert "core memory 'human': ['Allergic to peanuts.']" in done.stdout
    assert "an error is a tool result: True" in done.stdout and "404" in done.stdout


async def test_http_a_key_revoked_mid_session_is_refused_by_the_api_at_once(
    system: RunningSystem, http_server: str
) -> None:
    """The door remembers a verified key for 30 s, but each tool call still carries it to the API, which refuses a
    revoked key within a second: the session's next calls are tool errors, though the session itself was open."""
    user = unique("mcp-revoked-")
    key = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), name="mcp revoked")
    async with http_session(http_server, key) as session:
        await call(session, "list_memories", user_id=user)
        assert system.cli("keys", "revoke", key.split("_")[1]).returncode == 0
        deadline = time.monotonic() + 10
        while not (result := await session.call_tool("list_memories", {"user_id": user})).is_error:
            assert time.monotonic() < deadline, "the revoked key still worked through the MCP server after 10 s"
            await anyio.sleep(0.2)
        assert "401" in text_of(result) and "revoked" in text_of(result)
