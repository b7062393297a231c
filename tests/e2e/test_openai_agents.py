"""The OpenAI Agents SDK integration (``memstream_client.integrations.openai_agents``) against the running system:
``MemstreamSession`` (the ``Session`` protocol over the conversation log: every method, the runner feeding a
conversation's history back to the model, what pop and clear mean on an append-only log, two users' sessions of
the same id kept apart) and ``memory_tools`` (the API's memory tools as ``FunctionTool``s, called by an agent;
a refusal the model can correct handed back to it, a refused credential stopping the run).

The model is the Agents SDK's own ``agents.testing.ScriptedModel``, a stand-in for an LLM: it answers each call
with the tool calls or message scripted for it, and records what it was sent. No network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, FunctionTool, RunConfig, Runner
from agents.memory import Session, SessionSettings
from agents.testing import ScriptedModel, assistant_message, function_call
from memstream_client import AsyncMemstream, PermissionDenied
from memstream_client.integrations.openai_agents import MemstreamSession, memory_tools

from api.gateway.principal import Scope as KeyScope
from tests.e2e.conftest import RunningSystem
from tests.support import issue_key, unique

pytestmark = pytest.mark.e2e

NO_TRACING = RunConfig(tracing_disabled=True)  # the SDK's traces would go to OpenAI's servers


@pytest.fixture
async def client(system: RunningSystem) -> AsyncIterator[AsyncMemstream]:
    async with AsyncMemstream(api_key=system.admin_key, base_url=system.system.base_url) as sdk:
        yield sdk


def llm_stand_in(*steps: Any) -> ScriptedModel:
    """The Agents SDK's scripted model, standing in for an LLM: one scripted answer per model call."""
    return ScriptedModel(list(steps))


def texts(items: list[Any]) -> list[tuple[str, str]]:
    return [(item["role"], item["content"]) for item in items]


def tool_outputs(call_input: Any) -> list[str]:
    """The function-call outputs the runner sent the model in one call."""
    return [
        str(item["output"])
        for item in call_input
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]


# --- the session ------------------------------------------------------------------------------------------------


async def test_every_session_method(client: AsyncMemstream) -> None:
    user = unique("agents-session-")
    session = MemstreamSession(unique("chat-"), client=client, user_id=user)
    assert isinstance(session, Session)  # the SDK's runtime-checkable protocol
    assert await session.get_items() == [] and await session.pop_item() is None

    await session.add_items(
        [
            {"role": "developer", "content": "Answer briefly."},
            {"role": "user", "content": "I moved to Porto last spring."},
            # Not conversation: a tool call and its output are not kept (see items.py).
            {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "nothing"},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Porto is lovely.", "annotations": []}],
            },
        ]
    )
    await session.add_items([{"role": "user", "content": f"message {i}"} for i in range(3)])

    everything = [
        ("developer", "Answer briefly."),
        ("user", "I moved to Porto last spring."),
        ("assistant", "Porto is lovely."),
        ("user", "message 0"),
        ("user", "message 1"),
        ("user", "message 2"),
    ]
    assert texts(await session.get_items()) == everything
    assert texts(await session.get_items(limit=2)) == everything[-2:]

    # pop: the latest item comes back and leaves the session; the log keeps the turn and records the withdrawal.
    popped = await session.pop_item()
    assert popped == {"role": "user", "content": "message 2"}
    assert texts(await session.get_items()) == everything[:-1]
    assert texts(await session.get_items(limit=1)) == [("user", "message 1")]
    log = await client.conversation_turns(session.session_id, user_id=user, read_your_writes=True)
    assert [t.text for t in log][-2:] == ["message 2", "[message withdrawn]"]

    # clear: the history starts over; what comes after is the session.
    await session.clear_session()
    assert await session.get_items() == [] and await session.pop_item() is None
    await session.add_items([{"role": "user", "content": "A fresh start."}])
    assert texts(await session.get_items()) == [("user", "A fresh start.")]

    # The markers are the session's bookkeeping, not something the user said: no memory is drawn from them,
    # while the conversation's own turns were remembered.
    memories = [m.memory for m in await client.get_all(user_id=user, read_your_writes=True)]
    assert any("Porto" in m for m in memories)
    assert not any("withdrawn" in m or "cleared" in m for m in memories)


async def test_withdrawals_reaching_past_one_page_of_the_log(client: AsyncMemstream) -> None:
    # pop_item reads pages of 10 turns from the end; after five pops the last ten turns are five markers and the
    # five turns they withdraw, so the sixth pop and the reads after it must go on to the next page.
    session = MemstreamSession(unique("chat-"), client=client, user_id=unique("agents-pages-"))
    await session.add_items([{"role": "user", "content": f"line {i}"} for i in range(12)])
    popped = [await session.pop_item() for _ in range(6)]
    assert [item["content"] for item in popped if item] == [f"line {i}" for i in range(11, 5, -1)]  # type: ignore[typeddict-item]
    assert texts(await session.get_items(limit=1)) == [("user", "line 5")]
    assert texts(await session.get_items()) == [("user", f"line {i}") for i in range(6)]


async def test_session_settings_limit_what_the_runner_reads(client: AsyncMemstream) -> None:
    session = MemstreamSession(
        unique("chat-"), client=client, user_id=unique("agents-"), session_settings=SessionSettings(limit=2)
    )
    await session.add_items([{"role": "user", "content": f"note {i}"} for i in range(4)])
    assert texts(await session.get_items()) == [("user", "note 2"), ("user", "note 3")]
    assert len(await session.get_items(limit=3)) == 3


async def test_two_users_sessions_of_the_same_id_are_apart(system: RunningSystem, client: AsyncMemstream) -> None:
    alice, bob, chat = unique("alice-"), unique("bob-"), unique("chat-")
    alices = MemstreamSession(chat, client=client, user_id=alice)
    bobs = MemstreamSession(chat, client=client, user_id=bob)
    await alices.add_items([{"role": "user", "content": "My locker code is 4471."}])
    await bobs.add_items([{"role": "user", "content": "I like jazz."}])
    await bobs.clear_session()

    assert texts(await alices.get_items()) == [("user", "My locker code is 4471.")]
    assert await bobs.get_items() == []

    # A key bound to bob: his session works without naming him; alice's is refused, as the SDK's error.
    bobs_key = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ, KeyScope.WRITE), user_id=bob)
    async with AsyncMemstream(api_key=bobs_key, base_url=system.system.base_url) as as_bob:
        own = MemstreamSession(chat, client=as_bob)
        await own.add_items([{"role": "user", "content": "Back again."}])
        assert texts(await own.get_items()) == [("user", "Back again.")]
        with pytest.raises(PermissionDenied, match="credential"):
            await MemstreamSession(chat, client=as_bob, user_id=alice).get_items()
        with pytest.raises(PermissionDenied):
            await MemstreamSession(chat, client=as_bob, user_id=alice).add_items([{"role": "user", "content": "hi"}])


# --- an agent with the session and the memory tools ------------------------------------------------------------


async def test_an_agent_remembers_with_the_tools_and_its_session(client: AsyncMemstream) -> None:
    user, chat = unique("agents-run-"), unique("chat-")
    tools = await memory_tools(client, user_id=user)
    assert all(isinstance(tool, FunctionTool) for tool in tools)
    assert {tool.name for tool in tools} == {
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
    }
    session = MemstreamSession(chat, client=client, user_id=user)

    model = llm_stand_in(
        [function_call("archival_memory_insert", {"content": "Alice is vegetarian."}, call_id="call-1")],
        [assistant_message("Noted: you are vegetarian.")],
    )
    agent = Agent(name="assistant", instructions="Remember what matters.", model=model, tools=tools)
    first = await Runner.run(agent, "Remember that I'm vegetarian.", session=session, run_config=NO_TRACING)
    assert first.final_output == "Noted: you are vegetarian."
    # The model saw the memory tools, and the insert's answer came back to it.
    assert {tool.name for tool in model.calls[0].tools} >= {"archival_memory_insert"}
    (inserted,) = tool_outputs(model.calls[1].input)
    assert "archival memory" in inserted and not inserted.startswith("Error")
    hits = await client.search("vegetarian", user_id=user, read_your_writes=True)
    assert "Alice is vegetarian." in [hit.memory for hit in hits]
    assert texts(await session.get_items()) == [
        ("user", "Remember that I'm vegetarian."),
        ("assistant", "Noted: you are vegetarian."),
    ]

    # A second run of the session: the model is sent the conversation so far, read back from memstream; it
    # searches its memory and gets the insert of the first run.
    model = llm_stand_in(
        [function_call("archival_memory_search", {"query": "diet vegetarian"}, call_id="call-2")],
        [assistant_message("You are vegetarian.")],
    )
    agent = agent.clone(model=model)
    second = await Runner.run(agent, "What do I eat?", session=session, run_config=NO_TRACING)
    assert second.final_output == "You are vegetarian."
    sent = model.calls[0].input
    assert [(i.get("role"), i.get("content")) for i in sent if isinstance(i, dict) and "role" in i][:3] == [
        ("user", "Remember that I'm vegetarian."),
        ("assistant", "Noted: you are vegetarian."),
        ("user", "What do I eat?"),
    ]
    assert any("Alice is vegetarian." in output for output in tool_outputs(model.calls[1].input))


async def test_a_refusal_the_model_can_correct_goes_back_to_it(client: AsyncMemstream) -> None:
    user = unique("agents-refusal-")
    tools = await memory_tools(client, user_id=user, names=["core_memory_replace", "core_memory_append"])
    assert [tool.name for tool in tools] == ["core_memory_append", "core_memory_replace"]
    model = llm_stand_in(
        [function_call("core_memory_replace", {"label": "human", "old": "lives in Oslo", "new": "x"}, call_id="c1")],
        [function_call("core_memory_append", '{"label": "human", "content": ', call_id="c2")],  # malformed JSON
        [assistant_message("Sorry, I could not update that.")],
    )
    agent = Agent(name="assistant", model=model, tools=tools)
    result = await Runner.run(agent, "I moved.", run_config=NO_TRACING)

    assert result.final_output == "Sorry, I could not update that."
    (not_there,) = tool_outputs(model.calls[1].input)
    assert not_there.startswith("Error: ") and "lives in Oslo" in not_there
    malformed = tool_outputs(model.calls[2].input)[-1]
    assert malformed.startswith("Error: ") and "JSON" in malformed


async def test_a_refused_credential_stops_the_run(system: RunningSystem) -> None:
    user = unique("agents-readonly-")
    read_only = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), user_id=user)
    async with AsyncMemstream(api_key=read_only, base_url=system.system.base_url) as client:
        tools = await memory_tools(client)
        model = llm_stand_in(
            [function_call("archival_memory_insert", {"content": "I like tea."}, call_id="c1")],
            [assistant_message("unreachable")],
        )
        agent = Agent(name="assistant", model=model, tools=tools)
        with pytest.raises(Exception) as raised:
            await Runner.run(agent, "Remember I like tea.", run_config=NO_TRACING)
    chain = [raised.value, raised.value.__cause__, raised.value.__context__]
    assert any(isinstance(error, PermissionDenied) for error in chain), repr(raised.value)
    assert model.remaining_steps == 1  # the model was not asked again


async def test_an_unknown_tool_name_is_refused(client: AsyncMemstream) -> None:
    with pytest.raises(ValueError, match="no memory tool named remember_everything"):
        await memory_tools(client, names=["remember_everything"])


def test_items_that_are_not_text_messages_are_not_kept() -> None:
    from memstream_client.integrations.openai_agents.items import as_turn

    image = {"role": "user", "content": [{"type": "input_image", "image_url": "https://example.com/a.png"}]}
    two_parts = {"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]}
    assert as_turn(image) is None  # type: ignore[arg-type]
    assert as_turn({"role": "user", "content": "   "}) is None
    assert as_turn({"type": "reasoning", "id": "r1", "summary": []}) is None  # type: ignore[arg-type]
    turn = as_turn(two_parts)  # type: ignore[arg-type]
    assert turn is not None and turn.text == "a\nb" and json.dumps(turn.metadata) == "{}"
