"""The LangGraph integration (``memstream_client.integrations.langgraph.MemstreamStore``, langgraph as pinned in
sdk/python's ``[langgraph]`` extra) against the running system: every ``BaseStore`` method sync and async (put,
get, search with a query and filters, delete, list_namespaces, batch), items kept apart per user, errors as
LangGraph raises them, and a graph whose long-term memory is the store, with LangChain's scripted chat model
standing in for an LLM.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore, GetOp, InvalidNamespaceError, Item, PutOp, SearchItem, SearchOp
from memstream_client import AsyncMemstream, Memstream, PermissionDenied
from memstream_client.integrations.langgraph import MemstreamStore

from api.gateway.principal import Scope as KeyScope
from tests.e2e.conftest import RunningSystem
from tests.support import issue_key, unique


@pytest.fixture
def client(system: RunningSystem) -> Iterator[Memstream]:
    with Memstream(api_key=system.admin_key, base_url=system.system.base_url) as sdk:
        yield sdk


@pytest.fixture
def store(client: Memstream) -> MemstreamStore:
    return MemstreamStore(client)


def test_put_get_update_and_delete(store: MemstreamStore, client: Memstream) -> None:
    user = unique("lg-crud-")
    ns = (user, "preferences")
    assert store.get(ns, "food") is None

    store.put(ns, "food", {"likes": "pastel de nata", "rating": 5})
    item = store.get(ns, "food")
    assert isinstance(item, Item)
    assert (item.namespace, item.key, item.value) == (ns, "food", {"likes": "pastel de nata", "rating": 5})
    assert item.created_at.tzinfo is not None and item.updated_at >= item.created_at

    # The item is one verbatim memory of the user, marked as a store item and left out of the conversation log.
    [memory] = client.get_all(user_id=user, read_your_writes=True)
    assert memory.metadata["langgraph.key"] == "food" and memory.metadata["memstream_tool"] == "langgraph_store"
    assert "pastel de nata" in memory.memory
    assert client.conversation_turns("default", user_id=user).total == 0

    store.put(ns, "food", {"likes": "bacalhau", "rating": 4})  # an update of the same memory
    updated = store.get(ns, "food")
    assert updated is not None and updated.value == {"likes": "bacalhau", "rating": 4}
    assert [m.id for m in client.get_all(user_id=user, read_your_writes=True)] == [memory.id]

    store.delete(ns, "food")
    assert store.get(ns, "food") is None
    store.delete(ns, "food")  # deleting what is not there is no error, as in every LangGraph store
    store.put(ns, "drink", {"likes": "tea"})
    store.put(ns, "drink", None)  # put of None deletes
    assert store.get(ns, "drink") is None


def test_same_value_under_two_keys_stays_two_items(store: MemstreamStore) -> None:
    """memstream merges a memory that repeats another; two keys holding one value must not be merged."""
    user = unique("lg-twins-")
    store.put((user, "todo"), "monday", {"task": "water the plants"})
    store.put((user, "todo"), "tuesday", {"task": "water the plants"})
    store.put((user, "chores"), "monday", {"task": "water the plants"})
    for namespace, key in (((user, "todo"), "monday"), ((user, "todo"), "tuesday"), ((user, "chores"), "monday")):
        item = store.get(namespace, key)
        assert item is not None and item.value == {"task": "water the plants"}, (namespace, key)
    assert len(store.search((user,), limit=10)) == 3
    # A merged copy would still read by key, but never be searchable: every item is found by a query too.
    assert len(store.search((user,), query="water the plants", limit=10)) == 3


def test_search_with_query_filters_and_pages(store: MemstreamStore) -> None:
    user = unique("lg-search-")
    store.put((user, "trips"), "lisbon", {"text": "A weekend in Lisbon eating custard tarts", "cost": 300})
    store.put((user, "trips"), "tokyo", {"text": "Two weeks in Tokyo visiting temples", "cost": 2500})
    store.put(
        (user, "trips", "planned"), "oslo", {"text": "A winter trip to Oslo for the northern lights", "cost": 900}
    )
    store.put((user, "notes"), "lisbon", {"text": "Buy custard tarts for the office", "cost": 20})

    found = store.search((user, "trips"), query="custard tarts")
    assert found and all(isinstance(hit, SearchItem) for hit in found)
    assert found[0].key == "lisbon" and found[0].namespace == (user, "trips")
    assert found[0].score is not None and found[0].score > 0
    assert all(hit.namespace[:2] == (user, "trips") for hit in found)  # not the note under (user, "notes")

    expensive = store.search((user, "trips"), query="trip", filter={"cost": {"$gt": 500}})
    assert {hit.key for hit in expensive} == {"tokyo", "oslo"}
    assert [hit.key for hit in store.search((user,), filter={"cost": 20})] == ["lisbon"]
    assert {hit.key for hit in store.search((user,), filter={"cost": {"$gte": 300, "$lt": 2500}})} == {"lisbon", "oslo"}
    assert store.search((user,), filter={"cost": {"$ne": 300}, "text": {"$eq": "nothing like this"}}) == []

    # Without a query: the prefix's items, newest first, paged.
    listed = store.search((user, "trips"), limit=10)
    assert [hit.key for hit in listed] == ["oslo", "tokyo", "lisbon"] and all(hit.score is None for hit in listed)
    assert [hit.key for hit in store.search((user, "trips"), limit=1, offset=1)] == ["tokyo"]
    assert [hit.key for hit in store.search((user,), filter={"cost": {"$lt": 1000}}, limit=1, offset=1)] == ["oslo"]

    with pytest.raises(ValueError, match="unknown operator"):
        store.search((user,), filter={"cost": {"$between": [1, 2]}})


def test_list_namespaces(store: MemstreamStore) -> None:
    user = unique("lg-ns-")
    for namespace in [(user, "a"), (user, "a", "x"), (user, "a", "y", "deep"), (user, "b", "x")]:
        store.put(namespace, "k", {"n": len(namespace)})

    assert store.list_namespaces(prefix=(user,)) == [
        (user, "a"),
        (user, "a", "x"),
        (user, "a", "y", "deep"),
        (user, "b", "x"),
    ]
    assert store.list_namespaces(prefix=(user, "a")) == [(user, "a"), (user, "a", "x"), (user, "a", "y", "deep")]
    assert store.list_namespaces(prefix=(user,), suffix=("x",)) == [(user, "a", "x"), (user, "b", "x")]
    assert store.list_namespaces(prefix=(user, "*", "x")) == [(user, "a", "x"), (user, "b", "x")]
    assert store.list_namespaces(prefix=(user,), max_depth=2) == [(user, "a"), (user, "b")]
    assert store.list_namespaces(prefix=(user,), limit=2, offset=1) == [(user, "a", "x"), (user, "a", "y", "deep")]


def test_two_users_are_kept_apart(system: RunningSystem, store: MemstreamStore) -> None:
    alice, bob = unique("lg-alice-"), unique("lg-bob-")
    store.put((alice, "facts"), "city", {"city": "Braga"})
    store.put((bob, "facts"), "city", {"city": "Faro"})
    assert store.get((alice, "facts"), "city").value == {"city": "Braga"}  # type: ignore[union-attr]
    assert store.get((bob, "facts"), "city").value == {"city": "Faro"}  # type: ignore[union-attr]
    assert [hit.value for hit in store.search((bob,), query="city")] == [{"city": "Faro"}]
    assert store.list_namespaces(prefix=(bob,)) == [(bob, "facts")]

    # A key bound to Alice: her namespaces work, Bob's are refused by the API.
    key = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ, KeyScope.WRITE), user_id=alice)
    with Memstream(api_key=key, base_url=system.system.base_url) as as_alice:
        hers = MemstreamStore(as_alice)
        assert hers.get((alice, "facts"), "city").value == {"city": "Braga"}  # type: ignore[union-attr]
        for attempt in (
            lambda: hers.get((bob, "facts"), "city"),
            lambda: hers.put((bob, "facts"), "city", {"city": "Porto"}),
            lambda: hers.search((bob,), query="city"),
            lambda: hers.list_namespaces(prefix=(bob,)),
        ):
            with pytest.raises(PermissionDenied):
                attempt()
    assert store.get((bob, "facts"), "city").value == {"city": "Faro"}  # type: ignore[union-attr]


def test_user_position_and_errors(client: Memstream) -> None:
    user = unique("lg-pos-")
    store = MemstreamStore(client, user_at=1)  # LangGraph's docs write ("memories", user_id)
    store.put(("memories", user), "hobby", {"hobby": "surfing"})
    assert store.get(("memories", user), "hobby").value == {"hobby": "surfing"}  # type: ignore[union-attr]
    assert MemstreamStore(client).get((user,), "hobby") is None  # another namespace of the same user

    with pytest.raises(InvalidNamespaceError, match="names no user"):
        store.put(("memories",), "hobby", {"hobby": "x"})
    with pytest.raises(InvalidNamespaceError, match="names no user"):
        store.list_namespaces()
    with pytest.raises(InvalidNamespaceError):
        store.put(("memories", "a.b"), "k", {})  # LangGraph's own rule: no periods in labels
    with pytest.raises(InvalidNamespaceError):
        store.put((), "k", {})
    with pytest.raises(NotImplementedError, match="ttl"):
        store.put(("memories", user), "k", {"v": 1}, ttl=5)


def test_batch_runs_ops_in_order(store: MemstreamStore) -> None:
    user = unique("lg-batch-")
    results = store.batch(
        [
            PutOp((user, "b"), "one", {"n": 1}),
            PutOp((user, "b"), "two", {"n": 2}),
            GetOp((user, "b"), "one"),
            SearchOp((user,), filter={"n": 2}),
        ]
    )
    assert results[0] is None and results[1] is None
    assert isinstance(results[2], Item) and results[2].value == {"n": 1}
    assert [hit.key for hit in results[3]] == ["two"]  # type: ignore[union-attr]


async def test_every_method_async(system: RunningSystem) -> None:
    user = unique("lg-async-")
    async with AsyncMemstream(api_key=system.admin_key, base_url=system.system.base_url) as async_client:
        store = MemstreamStore(async_client=async_client)
        ns = (user, "profile")
        await store.aput(ns, "name", {"name": "Inês", "language": "Portuguese"})
        await store.aput(ns, "job", {"job": "architect"})
        item = await store.aget(ns, "name")
        assert item is not None and item.value["name"] == "Inês"
        hits = await store.asearch((user,), query="what is my job")
        assert hits[0].key == "job"
        assert [h.key for h in await store.asearch((user,), filter={"language": "Portuguese"})] == ["name"]
        assert await store.alist_namespaces(prefix=(user,)) == [ns]
        await store.aput(ns, "job", {"job": "painter"})
        assert (await store.aget(ns, "job")).value == {"job": "painter"}  # type: ignore[union-attr]
        await store.adelete(ns, "name")
        assert await store.aget(ns, "name") is None
        with pytest.raises(RuntimeError, match="async"):
            store.get(ns, "job")  # only an async client: the sync methods say so


async def test_async_methods_with_only_a_sync_client(store: MemstreamStore) -> None:
    user = unique("lg-thread-")
    await store.aput((user,), "k", {"v": "through a thread"})
    assert (await store.aget((user,), "k")).value == {"v": "through a thread"}  # type: ignore[union-attr]


class Chat(TypedDict):
    question: str
    answer: str


def test_a_graph_whose_long_term_memory_is_the_store(store: MemstreamStore) -> None:
    """A two-node graph: ``remember`` stores what the user says about themselves, ``answer`` asks the model with
    what the store recalls. FakeListChatModel stands in for an LLM; the test checks what the graph gave it."""
    user = unique("lg-graph-")
    prompts: list[str] = []
    model = FakeListChatModel(responses=["Noted.", "You are allergic to peanuts."])

    def remember(state: Chat, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
        user_id = config["configurable"]["user_id"]
        if state["question"].startswith("Remember:"):
            fact = state["question"].removeprefix("Remember:").strip()
            store.put((user_id, "facts"), unique("fact-"), {"fact": fact})
        return {}

    def answer(state: Chat, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
        user_id = config["configurable"]["user_id"]
        recalled = [hit.value["fact"] for hit in store.search((user_id, "facts"), query=state["question"], limit=3)]
        prompt = f"Known about the user: {recalled}\nQuestion: {state['question']}"
        prompts.append(prompt)
        return {"answer": str(model.invoke(prompt).content)}

    builder = StateGraph(Chat)
    builder.add_node("remember", remember)
    builder.add_node("answer", answer)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "answer")
    builder.add_edge("answer", END)
    graph = builder.compile(store=store)

    config: RunnableConfig = {"configurable": {"user_id": user}}
    graph.invoke({"question": "Remember: I am allergic to peanuts"}, config)
    result = graph.invoke({"question": "What food should I avoid, given my peanut allergy?"}, config)

    assert result["answer"] == "You are allergic to peanuts."
    assert "I am allergic to peanuts" in prompts[-1]
    # Another user's graph run recalls nothing of it.
    graph.invoke({"question": "What am I allergic to? peanuts?"}, {"configurable": {"user_id": unique("lg-graph-")}})
    assert "allergic to peanuts'" not in prompts[-1] and "Known about the user: []" in prompts[-1]
