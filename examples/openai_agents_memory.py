"""An OpenAI Agents SDK agent whose conversation history and long-term memory are memstream.

``MemstreamSession`` keeps the conversation in memstream's conversation log (the runner reads it back before each
run and appends to it after), and ``memory_tools`` gives the agent the five memory tools. Two runs of the same
session: the second is sent the first's conversation, and finds what the first stored.

    make run                                                  # the API; prints the admin key
    export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
    .venv/bin/python examples/openai_agents_memory.py --user-id ana

With ``MEMSTREAM_LLM_BASE_URL`` and ``MEMSTREAM_LLM_MODEL`` (any OpenAI-compatible endpoint with tool calling;
``MEMSTREAM_LLM_API_KEY`` if it needs one) a real model answers; without them the Agents SDK's scripted model
stands in for one, so the example runs anywhere. Not used by the tests; ``make lint`` type-checks it.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from agents import Agent, Model, OpenAIChatCompletionsModel, RunConfig, Runner
from agents.testing import ScriptedModel, assistant_message, function_call
from memstream_client import AsyncMemstream
from memstream_client.integrations.openai_agents import MemstreamSession, memory_tools
from openai import AsyncOpenAI

INSTRUCTIONS = """You are a helpful assistant with long-term memory. Store lasting facts about the user with
archival_memory_insert and look them up with archival_memory_search before answering questions about them."""


def model() -> Model:
    base_url, name = os.environ.get("MEMSTREAM_LLM_BASE_URL"), os.environ.get("MEMSTREAM_LLM_MODEL")
    if base_url and name:
        llm = AsyncOpenAI(base_url=base_url, api_key=os.environ.get("MEMSTREAM_LLM_API_KEY", "none"))
        return OpenAIChatCompletionsModel(model=name, openai_client=llm)
    # A stand-in for an LLM: what a model would answer to the two messages below, scripted.
    return ScriptedModel(
        [
            [function_call("archival_memory_insert", {"content": "The user is vegetarian."}, call_id="call-1")],
            [assistant_message("Noted: you're vegetarian.")],
            [function_call("archival_memory_search", {"query": "diet vegetarian"}, call_id="call-2")],
            [assistant_message("You're vegetarian, so the mushroom risotto.")],
        ]
    )


async def main(user_id: str, conversation_id: str) -> None:
    async with AsyncMemstream() as memory:  # MEMSTREAM_API_KEY; MEMSTREAM_URL, default http://127.0.0.1:18080
        agent = Agent(
            name="assistant",
            instructions=INSTRUCTIONS,
            model=model(),
            tools=await memory_tools(memory, user_id=user_id),
        )
        session = MemstreamSession(conversation_id, client=memory, user_id=user_id)
        # Tracing off: the SDK would send traces to OpenAI's servers.
        config = RunConfig(tracing_disabled=True)
        for message in ("Remember that I'm vegetarian.", "Which dish should I pick: steak or mushroom risotto?"):
            result = await Runner.run(agent, message, session=session, run_config=config)
            print(f"user: {message}\nassistant: {result.final_output}")
        print("\nthe session, read back from memstream:")
        for item in await session.get_items():
            print(f"  {item['role']}: {item['content']}")  # type: ignore[typeddict-item]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user-id", default="ana")
    parser.add_argument("--conversation-id", default="openai-agents-example")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.user_id, arguments.conversation_id))
