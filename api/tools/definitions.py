"""The five memory tools as OpenAI function tools: what ``GET /v1/tools`` serves for a model to call.

Descriptions are written for the model that reads them: what each memory is, when to use the tool, what each
argument means. ``parameters`` is JSON Schema with ``additionalProperties: false`` and the required arguments
listed; the handlers check the same rules (api.tools.arguments) and answer a 422 naming the argument.
"""

from __future__ import annotations

from typing import Any

from api.conversations.schemas import MAX_PAGE

ARCHIVAL_PAGE_SIZE = 5
# archival_memory_search reads (page + 1) * 5 results of the hybrid search, whose top_k stops at 100.
MAX_ARCHIVAL_PAGE = 19
CONVERSATION_PAGE_SIZE = 5


def function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


LABEL = {
    "type": "string",
    "description": "Which core memory block to edit: 'persona' (who you are and how you behave), 'human'"
    " (what you know about the user you are talking to), or the label of another block you were given.",
}

CORE_MEMORY_APPEND = function(
    "core_memory_append",
    "Add a line to one of your core memory blocks. Core memory is always in your context, so keep in it what"
    " you must never forget about the user and yourself (their name, lasting preferences, your role). Each"
    " block has a character limit; the call fails if the block would exceed it: then shorten the block with"
    " core_memory_replace first.",
    {
        "label": LABEL,
        "content": {
            "type": "string",
            "description": "The text to add, a complete statement (it is joined to the block with a new line).",
        },
    },
    ["label", "content"],
)

CORE_MEMORY_REPLACE = function(
    "core_memory_replace",
    "Replace text in one of your core memory blocks: every occurrence of `old` becomes `new`. Use it to"
    " correct what changed (a new job, a changed preference) and to remove outdated lines (an empty `new`"
    " deletes the text). `old` must be copied exactly from the block as you see it.",
    {
        "label": LABEL,
        "old": {"type": "string", "description": "The exact text to replace, as it appears in the block."},
        "new": {"type": "string", "description": "The text to put in its place; an empty string deletes it."},
    },
    ["label", "old", "new"],
)

ARCHIVAL_MEMORY_INSERT = function(
    "archival_memory_insert",
    "Save a fact to archival memory, your long-term store outside the context window, exactly as you write"
    " it. Use it for details worth keeping that do not belong in core memory (events, plans, what the user"
    " told you about people and things). Write one self-contained statement, with names and dates instead of"
    " 'he' or 'yesterday', so it still makes sense when you find it later.",
    {"content": {"type": "string", "description": "The fact to remember, as one self-contained statement."}},
    ["content"],
)

ARCHIVAL_MEMORY_SEARCH = function(
    "archival_memory_search",
    f"Search archival memory, your long-term store, by meaning and by keywords. Results come {ARCHIVAL_PAGE_SIZE}"
    " at a time, best match first, each with its id and date; ask for the next page when the answer is not"
    " among them.",
    {
        "query": {"type": "string", "description": "What to look for, in a few words or a question."},
        "page": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_ARCHIVAL_PAGE,
            "default": 0,
            "description": f"Which page of results, starting at 0 ({ARCHIVAL_PAGE_SIZE} results a page).",
        },
    },
    ["query"],
)

CONVERSATION_SEARCH = function(
    "conversation_search",
    "Search the history of your conversations with the user for what was said, by keywords, optionally"
    f" within a date range. Results come {CONVERSATION_PAGE_SIZE} at a time, best match first, each with who"
    " said it and when.",
    {
        "query": {"type": "string", "description": "Words to look for in what was said."},
        "start_date": {
            "type": "string",
            "description": "Only turns said on or after this day (YYYY-MM-DD) or moment (ISO 8601 with a time"
            " zone, e.g. 2026-03-01T09:00:00Z).",
        },
        "end_date": {
            "type": "string",
            "description": "Only turns said on or before this day (YYYY-MM-DD, the whole day included) or moment.",
        },
        "page": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_PAGE,
            "default": 0,
            "description": f"Which page of results, starting at 0 ({CONVERSATION_PAGE_SIZE} results a page).",
        },
    },
    ["query"],
)

# The order GET /v1/tools lists them in (the API's contract).
ALL = (CORE_MEMORY_APPEND, CORE_MEMORY_REPLACE, ARCHIVAL_MEMORY_INSERT, ARCHIVAL_MEMORY_SEARCH, CONVERSATION_SEARCH)


def name_of(definition: dict[str, Any]) -> str:
    name: str = definition["function"]["name"]
    return name
