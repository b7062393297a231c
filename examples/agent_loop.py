"""An agent with MemGPT-style memory: core blocks in its system prompt, the five memory tools at its disposal.

Each user message goes to any OpenAI-compatible chat endpoint together with the memory tools' schemas (served by
the API, ``GET /v1/tools``) and a system prompt holding the user's core memory blocks (``persona``, ``human``,
...). When the model calls tools, the SDK's dispatcher runs them against memstream and the results go back to the
model, until it answers in text. The conversation itself is added to memstream too, so that
``conversation_search`` and extraction see it.

    make run                                                      # the API; prints the admin key
    export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
    export MEMSTREAM_LLM_BASE_URL=http://localhost:11434/v1       # Ollama, vLLM, OpenAI, ... (with tool calling)
    export MEMSTREAM_LLM_MODEL=qwen2.5:7b-instruct                # and MEMSTREAM_LLM_API_KEY if it needs one
    .venv/bin/python examples/agent_loop.py --user-id ana

Type a message, an empty line to stop. Not used by the tests (it needs a model); ``make lint`` type-checks it.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from memstream_client import Block, Memstream
from openai import OpenAI

MAX_TOOL_ROUNDS = 8  # a model that keeps calling tools gets cut off rather than looping forever

INSTRUCTIONS = """You are a helpful assistant with long-term memory.
Your core memory is below: keep it current with core_memory_append and core_memory_replace (the `human` block is
what you know about the user, `persona` is who you are). Store lasting facts with archival_memory_insert, look
them up with archival_memory_search, and search past conversations with conversation_search."""


def system_prompt(blocks: list[Block]) -> str:
    sections = [f'<block label="{b.label}" chars="{len(b.value)}/{b.limit}">\n{b.value}\n</block>' for b in blocks]
    return f"{INSTRUCTIONS}\n\n<core_memory>\n" + "\n".join(sections) + "\n</core_memory>"


def reply(
    llm: OpenAI, model: str, memory: Memstream, user_id: str, history: list[dict[str, Any]], tools: list[dict[str, Any]]
) -> str:
    """One turn: call the model, run its tool calls, repeat until it answers in text."""
    for _ in range(MAX_TOOL_ROUNDS):
        # Re-read the blocks every round: the model may have just edited them (read_your_writes makes the edit
        # visible here).
        messages = [{"role": "system", "content": system_prompt(memory.list_blocks(user_id=user_id))}, *history]
        completion = llm.chat.completions.create(model=model, messages=messages, tools=tools)  # type: ignore[arg-type]
        message = completion.choices[0].message
        if not message.tool_calls:
            history.append({"role": "assistant", "content": message.content or ""})
            return message.content or ""
        history.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            # The dispatcher takes the openai object as is; a refusal the model can fix comes back as "Error: ...".
            result = memory.execute_tool_call(call, user_id=user_id)
            function = getattr(call, "function", None)  # custom (non-function) tool calls have none
            print(f"  [{getattr(function, 'name', call.type)}: {result[:120]!r}]")
            history.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return "(stopped: too many tool calls in a row)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user-id", default="agent-demo-user")
    args = parser.parse_args()
    llm = OpenAI(
        base_url=os.environ.get("MEMSTREAM_LLM_BASE_URL") or None,  # None: OpenAI itself
        api_key=os.environ.get("MEMSTREAM_LLM_API_KEY", "not-needed"),
    )
    model = os.environ.get("MEMSTREAM_LLM_MODEL", "gpt-4o-mini")
    with Memstream(read_your_writes=True) as memory:
        tools = memory.tools()
        print(f"memory tools: {', '.join(t['function']['name'] for t in tools)}; an empty line stops")
        history: list[dict[str, Any]] = []
        while (text := input("you> ").strip()) != "":
            history.append({"role": "user", "content": text})
            answer = reply(llm, model, memory, args.user_id, history, tools)
            print(f"agent> {answer}")
            # The exchange goes to memstream's conversation log (and extraction) as well.
            memory.add(
                [{"role": "user", "content": text}, {"role": "assistant", "content": answer or "(no answer)"}],
                user_id=args.user_id,
                conversation_id="agent-loop",
            )
        print(json.dumps([b.__dict__ for b in memory.list_blocks(user_id=args.user_id)], default=str, indent=2))


if __name__ == "__main__":
    main()
