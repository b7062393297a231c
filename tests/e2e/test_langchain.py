"""The LangChain integration (``memstream_client.integrations.langchain``, langchain-core as pinned in
sdk/python's ``[langchain]`` extra) against the running system: the chat message history kept in the conversation
log, the retriever over hybrid search, and the memory tools, sync and async; two users kept apart; errors as
LangChain expects them. Where a model is needed, LangChain's own scripted chat model stands in for an LLM.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel, FakeMessagesListChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory
from memstream_client import AsyncMemstream, Memstream, PermissionDenied
from memstream_client.integrations.langchain import (
    MemstreamChatMessageHistory,
    MemstreamRetriever,
    amemory_tools,
    memory_tools,
)

from api.gateway.principal import Scope as KeyScope
from tests.e2e.conftest import RunningSystem
from tests.support import issue_key, unique

TOOL_NAMES = {
    "core_memory_append",
    "core_memory_replace",
    "archival_memory_insert",
    "archival_memory_search",
    "conversation_search",
}


@pytest.fixture
def client(system: RunningSystem) -> Iterator[Memstream]:
    with Memstream(api_key=system.admin_key, base_url=system.system.base_url, read_your_writes=True) as sdk:
        yield sdk


def user_bound_client(system: RunningSystem, user: str) -> Memstream:
    key = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ, KeyScope.WRITE), user_id=user)
    return Memstream(api_key=key, base_url=system.system.base_url, read_your_writes=True)


def contents(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.type, str(m.content)) for m in messages]


# --- chat message history -----------------------------------------------------------------------------------------


def test_history_records_turns_and_reads_them_back_in_order(client: Memstream) -> None:
    user, session = unique("lc-hist-"), unique("session-")
    history = MemstreamChatMessageHistory(session, user_id=user, client=client)
    assert isinstance(history, BaseChatMessageHistory)
    assert history.messages == []  # an unknown conversation is empty, not an error

    history.add_messages(
        [
            SystemMessage("You are a helpful baker's assistant."),
            HumanMessage("Hello, I am Ana and I live in Lisbon.", name="Ana"),
            AIMessage("Nice to meet you, Ana!"),
            # Only calls a tool: no text, so no turn (the log keeps what was said).
            AIMessage("", tool_calls=[{"name": "lookup", "args": {}, "id": "call-1"}]),
            ToolMessage("The bakery opens at 7.", tool_call_id="call-1"),
            AIMessage("The bakery opens at seven."),
        ]
    )
    history.add_user_message("Thanks, see you tomorrow.")
    history.add_ai_message("Goodbye!")

    messages = history.messages
    assert contents(messages) == [
        ("system", "You are a helpful baker's assistant."),
        ("human", "Hello, I am Ana and I live in Lisbon."),
        ("ai", "Nice to meet you, Ana!"),
        ("tool", "The bakery opens at 7."),
        ("ai", "The bakery opens at seven."),
        ("human", "Thanks, see you tomorrow."),
        ("ai", "Goodbye!"),
    ]
    assert messages[1].name == "Ana"
    assert isinstance(messages[3], ToolMessage) and messages[3].tool_call_id == "call-1"
    assert all(m.id for m in messages)  # the turn ids

    # The same turns through the SDK, and the memories extracted from them (infer=True).
    log = client.conversation_turns(session, user_id=user)
    assert log.total == 7 and [t.role for t in log][:3] == ["system", "user", "assistant"]
    hits = client.search("where does Ana live", user_id=user, limit=5)
    assert any("Lisbon" in hit.memory for hit in hits)


def test_history_pages_past_one_request_and_one_page(client: Memstream) -> None:
    user, session = unique("lc-long-"), unique("session-")
    # infer=False: stored verbatim, nothing for the extraction rules to weigh.
    history = MemstreamChatMessageHistory(session, user_id=user, client=client, infer=False)
    said = [HumanMessage(f"message number {i}") if i % 2 == 0 else AIMessage(f"answer number {i}") for i in range(130)]
    history.add_messages(said)  # two requests: the API takes 100 messages a request
    assert contents(history.messages) == contents(said)
    page = client.conversation_turns(session, user_id=user, limit=50, offset=100)
    assert page.total == 130 and [t.text for t in page] == [str(m.content) for m in said[100:]]


def test_history_clear_and_unknown_message_kinds_are_refused(client: Memstream) -> None:
    history = MemstreamChatMessageHistory(unique("session-"), user_id=unique("lc-clear-"), client=client)
    with pytest.raises(NotImplementedError, match="new session_id"):
        history.clear()
    with pytest.raises(ValueError, match="'function' message"):
        history.add_messages([FunctionMessage("42", name="calculator")])
    history.add_messages([ChatMessage("hello from a chat message", role="user")])
    assert contents(history.messages) == [("human", "hello from a chat message")]


def test_two_users_and_two_sessions_are_kept_apart(system: RunningSystem, client: Memstream) -> None:
    alice, bob, session = unique("lc-alice-"), unique("lc-bob-"), unique("shared-session-")
    MemstreamChatMessageHistory(session, user_id=alice, client=client).add_user_message("Alice's secret plan")
    MemstreamChatMessageHistory(session, user_id=bob, client=client).add_user_message("Bob's shopping list")
    MemstreamChatMessageHistory(unique("other-"), user_id=alice, client=client).add_user_message("another chat")

    assert contents(MemstreamChatMessageHistory(session, user_id=alice, client=client).messages) == [
        ("human", "Alice's secret plan")
    ]
    assert contents(MemstreamChatMessageHistory(session, user_id=bob, client=client).messages) == [
        ("human", "Bob's shopping list")
    ]

    # A key bound to Alice reads her own session without naming her, and is refused Bob's.
    with user_bound_client(system, alice) as as_alice:
        own = MemstreamChatMessageHistory(session, client=as_alice)
        assert contents(own.messages) == [("human", "Alice's secret plan")]
        with pytest.raises(PermissionDenied):
            _ = MemstreamChatMessageHistory(session, user_id=bob, client=as_alice).messages
        with pytest.raises(PermissionDenied):
            MemstreamChatMessageHistory(session, user_id=bob, client=as_alice).add_user_message("hi Bob")


async def test_history_async(system: RunningSystem) -> None:
    user, session = unique("lc-async-"), unique("session-")
    async with AsyncMemstream(api_key=system.admin_key, base_url=system.system.base_url) as async_client:
        history = MemstreamChatMessageHistory(session, user_id=user, async_client=async_client, infer=False)
        await history.aadd_messages([HumanMessage("What's the capital of Portugal?"), AIMessage("Lisbon.")])
        assert contents(await history.aget_messages()) == [
            ("human", "What's the capital of Portugal?"),
            ("ai", "Lisbon."),
        ]
        with pytest.raises(NotImplementedError):
            await history.aclear()
        with pytest.raises(RuntimeError, match="async"):
            _ = history.messages  # only an async client: the sync methods say so


def test_a_chain_with_message_history_and_a_scripted_model(client: Memstream) -> None:
    """``RunnableWithMessageHistory``, LangChain's way to give a chain memory; FakeListChatModel stands in for an LLM
    and answers from its script."""
    user, session = unique("lc-chain-"), unique("session-")
    model = FakeListChatModel(responses=["Hi Rui, noted.", "You told me you like cycling."])
    prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("history"), ("human", "{question}")])
    chain = RunnableWithMessageHistory(
        prompt | model,
        lambda session_id: MemstreamChatMessageHistory(session_id, user_id=user, client=client),
        input_messages_key="question",
        history_messages_key="history",
    )
    config = {"configurable": {"session_id": session}}
    chain.invoke({"question": "I'm Rui and I like cycling."}, config=config)  # type: ignore[arg-type]
    chain.invoke({"question": "What do I like?"}, config=config)  # type: ignore[arg-type]

    assert contents(MemstreamChatMessageHistory(session, user_id=user, client=client).messages) == [
        ("human", "I'm Rui and I like cycling."),
        ("ai", "Hi Rui, noted."),
        ("human", "What do I like?"),
        ("ai", "You told me you like cycling."),
    ]


# --- retriever --------------------------------------------------------------------------------------------------


def test_retriever_returns_hits_as_documents(system: RunningSystem, client: Memstream) -> None:
    user, other = unique("lc-ret-"), unique("lc-ret-other-")
    client.add("My dog is called Bolacha", user_id=user, infer=False, metadata={"topic": "pets"})
    client.add("I drink green tea every morning", user_id=user, infer=False, metadata={"topic": "food"})
    client.add("My dog is called Rex", user_id=other, infer=False)

    retriever = MemstreamRetriever(client=client, user_id=user, k=5)
    documents = retriever.invoke("what is my dog called")
    assert documents and all(isinstance(d, Document) for d in documents)
    best = documents[0]
    assert best.page_content == "My dog is called Bolacha"
    assert "Rex" not in {d.page_content for d in documents}  # the other user's memory
    memory = client.get(best.metadata["memory_id"], user_id=user)
    assert best.id == memory.id
    assert best.metadata["score"] > 0 and best.metadata["fused_score"] > 0
    assert best.metadata["retrievers"] and all(rank >= 1 for rank in best.metadata["retrievers"].values())
    assert best.metadata["state"] == "active" and best.metadata["memory_metadata"]["topic"] == "pets"
    assert best.metadata["valid_from"] == memory.valid_from.isoformat() and best.metadata["source_turn_ids"]

    only_food = MemstreamRetriever(client=client, user_id=user, filters={"metadata": {"topic": "food"}})
    assert [d.page_content for d in only_food.invoke("dog or tea")] == ["I drink green tea every morning"]

    with user_bound_client(system, other) as as_other:
        assert [d.page_content for d in MemstreamRetriever(client=as_other).invoke("dog")] == ["My dog is called Rex"]
        with pytest.raises(PermissionDenied):
            MemstreamRetriever(client=as_other, user_id=user).invoke("dog")


async def test_retriever_async(system: RunningSystem) -> None:
    user = unique("lc-aret-")
    async with AsyncMemstream(
        api_key=system.admin_key, base_url=system.system.base_url, read_your_writes=True
    ) as async_client:
        await async_client.add("I play the cello in an orchestra", user_id=user, infer=False)
        retriever = MemstreamRetriever(async_client=async_client, user_id=user, k=3)
        documents = await retriever.ainvoke("which instrument do I play")
        assert [d.page_content for d in documents] == ["I play the cello in an orchestra"]
        assert documents[0].metadata["retrievers"]


# --- memory tools -----------------------------------------------------------------------------------------------


def test_the_five_memory_tools_driven_by_a_scripted_model(system: RunningSystem, client: Memstream) -> None:
    """FakeMessagesListChatModel stands in for an LLM that calls the tools; each call runs as LangChain runs a tool
    call (``tool.invoke(tool_call)`` → ``ToolMessage``)."""
    user = unique("lc-tools-")
    tools = {tool.name: tool for tool in memory_tools(client, user_id=user)}
    assert set(tools) == TOOL_NAMES
    append = tools["core_memory_append"]
    assert append.description and set(append.args) == {"label", "content"}

    client.add("I am training for the Porto marathon", user_id=user, conversation_id="chat-1")
    script = [
        AIMessage(
            "",
            tool_calls=[
                {"name": "core_memory_append", "args": {"label": "human", "content": "Name: Joana"}, "id": "c1"},
                {"name": "archival_memory_insert", "args": {"content": "Joana's bike is blue"}, "id": "c2"},
            ],
        ),
        AIMessage(
            "",
            tool_calls=[
                {
                    "name": "core_memory_replace",
                    "args": {"label": "human", "old": "Joana", "new": "Joana Silva"},
                    "id": "c3",
                },
                {"name": "archival_memory_search", "args": {"query": "bike colour"}, "id": "c4"},
                {"name": "conversation_search", "args": {"query": "marathon"}, "id": "c5"},
                # A refusal the model can correct: the text is not in the block.
                {"name": "core_memory_replace", "args": {"label": "human", "old": "Pedro", "new": "X"}, "id": "c6"},
            ],
        ),
    ]
    model = FakeMessagesListChatModel(responses=script)
    results: dict[str, ToolMessage] = {}
    for _ in script:
        answer = model.invoke("next")
        assert isinstance(answer, AIMessage)
        for call in answer.tool_calls:
            message = tools[call["name"]].invoke(call)
            assert isinstance(message, ToolMessage) and message.tool_call_id == call["id"]
            results[str(call["id"])] = message

    assert client.get_block("human", user_id=user).value == "Name: Joana Silva"
    assert "blue" in str(results["c4"].content)
    assert "marathon" in str(results["c5"].content)
    refused = results["c6"]
    assert refused.status == "error" and str(refused.content).startswith("Error: ") and "Pedro" in str(refused.content)

    # A refused credential is not the model's to fix: it raises.
    reader = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), user_id=user)
    with Memstream(api_key=reader, base_url=system.system.base_url) as read_only:
        insert = {t.name: t for t in memory_tools(read_only)}["archival_memory_insert"]
        with pytest.raises(PermissionDenied):
            insert.invoke({"content": "not allowed"})


async def test_memory_tools_async(system: RunningSystem) -> None:
    user = unique("lc-atools-")
    async with AsyncMemstream(
        api_key=system.admin_key, base_url=system.system.base_url, read_your_writes=True
    ) as async_client:
        tools = {tool.name: tool for tool in await amemory_tools(async_client, user_id=user)}
        assert set(tools) == TOOL_NAMES
        await tools["archival_memory_insert"].ainvoke({"content": "My locker code is 4411"})
        found = await tools["archival_memory_search"].ainvoke({"query": "locker code"})
        assert "4411" in found
        bad = await tools["core_memory_append"].ainvoke({"label": "no-such-block", "content": "x"})
        assert bad.startswith("Error: ")
        with pytest.raises(NotImplementedError):
            tools["archival_memory_search"].invoke({"query": "sync call of an async-only tool"})
