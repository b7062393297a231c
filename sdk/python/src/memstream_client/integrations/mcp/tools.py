"""The MCP tools: memstream's memory API and its memory tools, described for the model that calls them.

Each tool is a thin call of ``AsyncMemstream`` with the caller's credential (``scoping.Scoping``). Memory tools
(search, list, get, update, delete, history, context) answer JSON of the API's result; the five MemGPT-style tools
answer the API's own text for the model. A refusal of the API is the tool's error, with the API's message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from memstream_client.integrations.mcp.answers import answer, from_api, plain
from memstream_client.integrations.mcp.scoping import Scoping
from memstream_client.models import ToolResult

# The parameters every tool shares; ``user_id``'s description is set per server (``Scoping.user_description``).
UserId = Annotated[str | None, Field(description="Whose memories: a user id.")]
AgentId = Annotated[
    str | None,
    Field(description="Optional: an agent's own scope within the user's memories. Leave it out to use the user's."),
]
MemoryId = Annotated[str, Field(description="A memory's id, as returned by search_memories or list_memories.")]
Query = Annotated[str, Field(description="What to look for, in a few words or a question.")]
Label = Annotated[
    str,
    Field(
        description="Which core memory block: 'persona' (who you are and how you behave), 'human' (what you know"
        " about the user), or the label of another block the user has."
    ),
]

READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
ADDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
CHANGES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
EDITS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)


def memory_tools(scoping: Scoping) -> list[Tool]:
    """Every tool, bound to how this server finds each call's credential and scope."""

    async def add_memory(
        text: Annotated[
            str,
            Field(
                description="What to remember: a message from the conversation or a statement of fact, with names"
                " and dates rather than 'he' or 'yesterday'."
            ),
        ],
        user_id: UserId = None,
        agent_id: AgentId = None,
        infer: Annotated[
            bool,
            Field(
                description="true (default): memstream extracts the facts worth keeping from the text. false: store"
                " the text as one memory, verbatim."
            ),
        ] = True,
    ) -> CallToolResult:
        """Remember something about the user for later conversations. memstream extracts facts from the text,
        links them to what it already knows (a newer fact supersedes one it contradicts) and makes them searchable
        within seconds. Use it when the user tells you something lasting about themselves, their preferences,
        plans, people or projects."""
        caller = scoping.caller(user_id, agent_id)
        added = await from_api(
            caller.client.add(text, user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id, infer=infer)
        )
        data = plain(added)
        return answer(data, f"Accepted: memstream is remembering it ({len(added.event_ids)} event(s) recorded).")

    async def search_memories(
        query: Query,
        user_id: UserId = None,
        agent_id: AgentId = None,
        limit: Annotated[int, Field(ge=1, le=100, description="How many memories at most (default 10).")] = 10,
    ) -> CallToolResult:
        """Search the user's long-term memories by meaning, keywords, the people and things they mention, and
        time ('last week'). Results come best first, each with its id, text, score and since when it is true.
        Use it before answering anything that depends on what you know about the user."""
        caller = scoping.caller(user_id, agent_id)
        found = await from_api(
            caller.client.search(
                query, user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id, limit=limit
            )
        )
        hits = [
            {
                "id": hit.id,
                "memory": hit.memory,
                "score": round(hit.score, 4),
                "valid_from": hit.valid_from.isoformat(),
                "valid_to": hit.valid_to.isoformat() if hit.valid_to else None,
                "state": hit.state,
                "metadata": hit.metadata,
            }
            for hit in found
        ]
        time_range = plain(found.time_range) if found.time_range else None
        return answer({"results": hits, "time_range": time_range})

    async def get_context(
        query: Annotated[str, Field(description="The question or task the context is for.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        max_tokens: Annotated[
            int, Field(ge=1, le=32_000, description="The most tokens the context may take (default 1000).")
        ] = 1000,
        include_blocks: Annotated[
            bool, Field(description="Put the user's core memory blocks first (default true).")
        ] = True,
    ) -> CallToolResult:
        """A ready-to-read block of what you know that is relevant to a question or task, within a token budget:
        the user's core memory first, then the most relevant memories with their dates. Use it at the start of a
        task to bring the user's context into the conversation."""
        caller = scoping.caller(user_id, agent_id)
        context = await from_api(
            caller.client.get_context(
                query,
                user_id=caller.user_id,
                agent_id=caller.agent_id,
                app_id=caller.app_id,
                max_tokens=max_tokens,
                include_blocks=include_blocks,
            )
        )
        return answer(plain(context), context.context or "(nothing relevant is remembered)")

    async def list_memories(
        user_id: UserId = None,
        agent_id: AgentId = None,
        limit: Annotated[int, Field(ge=1, le=100, description="How many memories a page (default 20).")] = 20,
        offset: Annotated[int, Field(ge=0, description="How many to skip: 20 for the second page of 20.")] = 0,
    ) -> CallToolResult:
        """List the user's memories, newest first, a page at a time, with their ids. Use search_memories to find
        something specific; this is for reviewing everything that is remembered."""
        caller = scoping.caller(user_id, agent_id)
        page = await from_api(
            caller.client.get_all(
                user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id, limit=limit, offset=offset
            )
        )
        return answer(plain(page))

    async def get_memory(memory_id: MemoryId, user_id: UserId = None) -> CallToolResult:
        """One memory by its id: its text, state, importance, since when it is true and the turns it came from."""
        caller = scoping.caller(user_id)
        memory = await from_api(caller.client.get(memory_id, user_id=caller.user_id, app_id=caller.app_id))
        return answer(plain(memory))

    async def update_memory(
        memory_id: MemoryId,
        text: Annotated[
            str | None, Field(description="The corrected text of the memory, a complete statement.")
        ] = None,
        pinned: Annotated[
            bool | None, Field(description="true: keep it regardless of age and use; false: let it decay again.")
        ] = None,
        user_id: UserId = None,
    ) -> CallToolResult:
        """Correct a memory's text (when the user says it is wrong or it changed) and/or pin it so it is never
        forgotten. Its history keeps the earlier text."""
        caller = scoping.caller(user_id)
        accepted = await from_api(
            caller.client.update(memory_id, text, pinned=pinned, user_id=caller.user_id, app_id=caller.app_id)
        )
        return answer(plain(accepted), f"Accepted: memory {memory_id} is being updated.")

    async def delete_memory(memory_id: MemoryId, user_id: UserId = None) -> CallToolResult:
        """Forget one memory everywhere, when the user asks you to or it is plainly wrong. This cannot be undone."""
        caller = scoping.caller(user_id)
        accepted = await from_api(caller.client.delete(memory_id, user_id=caller.user_id, app_id=caller.app_id))
        return answer(plain(accepted), f"Accepted: memory {memory_id} is being forgotten.")

    async def memory_history(memory_id: MemoryId, user_id: UserId = None) -> CallToolResult:
        """Every change of one memory, oldest first: each text it had, each state it passed through, when it was
        true (valid time) and when memstream learned it (known time). Use it to explain how a memory came to be."""
        caller = scoping.caller(user_id)
        history = await from_api(caller.client.history(memory_id, user_id=caller.user_id, app_id=caller.app_id))
        return answer(plain(history))

    async def core_memory_append(
        label: Label,
        content: Annotated[str, Field(description="The text to add, a complete statement (joined with a new line).")],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Add a line to one of the user's core memory blocks. Core memory is what you must never forget about the
        user and yourself (their name, lasting preferences, your role). Each block has a character limit; the call
        fails if the block would exceed it: then shorten the block with core_memory_replace first."""
        caller = scoping.caller(user_id, agent_id)
        result = await from_api(
            caller.client.core_memory_append(
                label, content, user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id
            )
        )
        return tool_answer(result)

    async def core_memory_replace(
        label: Label,
        old: Annotated[str, Field(description="The exact text to replace, as it appears in the block.")],
        new: Annotated[str, Field(description="The text to put in its place; an empty string deletes it.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Replace text in one of the user's core memory blocks: every occurrence of `old` becomes `new`. Use it to
        correct what changed and to remove outdated lines (an empty `new` deletes the text). `old` must be copied
        exactly from the block (read it with get_context or the block resources)."""
        caller = scoping.caller(user_id, agent_id)
        result = await from_api(
            caller.client.core_memory_replace(
                label, old, new, user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id
            )
        )
        return tool_answer(result)

    async def archival_memory_insert(
        content: Annotated[str, Field(description="The fact to remember, as one self-contained statement.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Save a fact to archival memory, the long-term store outside the context window, exactly as you write
        it. Use it for details worth keeping that do not belong in core memory (events, plans, people and things).
        Write one self-contained statement, with names and dates, so it still makes sense when found later."""
        caller = scoping.caller(user_id, agent_id)
        result = await from_api(
            caller.client.archival_memory_insert(
                content, user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id
            )
        )
        return tool_answer(result)

    async def archival_memory_search(
        query: Query,
        page: Annotated[int, Field(ge=0, le=19, description="Which page of 5 results, starting at 0.")] = 0,
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Search archival memory by meaning and by keywords. Results come 5 at a time, best match first, each with
        its id and date; ask for the next page when the answer is not among them."""
        caller = scoping.caller(user_id, agent_id)
        result = await from_api(
            caller.client.archival_memory_search(
                query, page, user_id=caller.user_id, agent_id=caller.agent_id, app_id=caller.app_id
            )
        )
        return tool_answer(result)

    async def conversation_search(
        query: Annotated[str, Field(description="Words to look for in what was said.")],
        start_date: Annotated[
            str | None,
            Field(description="Only what was said on or after this day (YYYY-MM-DD) or moment (ISO 8601 with a zone)."),
        ] = None,
        end_date: Annotated[
            str | None, Field(description="Only what was said on or before this day (YYYY-MM-DD, whole day) or moment.")
        ] = None,
        page: Annotated[int, Field(ge=0, description="Which page of 5 results, starting at 0.")] = 0,
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> CallToolResult:
        """Search the history of the conversations with the user for what was said (not what was remembered), by
        keywords, optionally within a date range. Results come 5 at a time, best match first, each with who said
        it and when."""
        caller = scoping.caller(user_id, agent_id)
        result = await from_api(
            caller.client.conversation_search(
                query,
                start_date,
                end_date,
                page,
                user_id=caller.user_id,
                agent_id=caller.agent_id,
                app_id=caller.app_id,
            )
        )
        return tool_answer(result)

    kinds: list[tuple[Callable[..., Awaitable[CallToolResult]], ToolAnnotations]] = [
        (add_memory, ADDS),
        (search_memories, READS),
        (get_context, READS),
        (list_memories, READS),
        (get_memory, READS),
        (update_memory, CHANGES),
        (delete_memory, CHANGES),
        (memory_history, READS),
        (core_memory_append, EDITS),
        (core_memory_replace, EDITS),
        (archival_memory_insert, ADDS),
        (archival_memory_search, READS),
        (conversation_search, READS),
    ]
    tools = [Tool.from_function(fn, annotations=hints) for fn, hints in kinds]
    for tool in tools:
        user = tool.parameters.get("properties", {}).get("user_id")
        if user is not None:
            user["description"] = scoping.user_description()
    return tools


def tool_answer(result: ToolResult) -> CallToolResult:
    """A memory tool's answer: the API's text for the model, its data as structured content."""
    data = result.data if isinstance(result.data, dict) else {"result": result.data}
    return answer(plain(data), result.text)
