"""A LangGraph graph whose long-term memory is memstream (MemstreamStore), against the API `make run` starts.

    make run                                                     # in one terminal; prints the admin key
    export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
    .venv/bin/python examples/langgraph_memory.py                # in another

Anywhere else: `pip install './sdk/python[langgraph]'`. LangChain's scripted chat model stands in for an LLM.
"""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from memstream_client.integrations.langgraph import MemstreamStore

model = FakeListChatModel(responses=["Noted!", "Oat milk, no sugar."])  # an LLM stand-in


class Chat(TypedDict, total=False):
    question: str
    answer: str


def remember(state: Chat, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
    # Namespaces start with the memstream user (MemstreamStore's default, user_at=0).
    user_id = config["configurable"]["user_id"]
    if state["question"].lower().startswith("remember"):
        store.put((user_id, "preferences"), uuid.uuid4().hex, {"preference": state["question"]})
    return {}


def answer(state: Chat, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
    user_id = config["configurable"]["user_id"]
    recalled = store.search((user_id, "preferences"), query=state["question"], limit=3)
    known = "; ".join(item.value["preference"] for item in recalled)
    print(f"  (recalled: {known or 'nothing'})")
    return {"answer": str(model.invoke(f"Known: {known}\nQuestion: {state['question']}").content)}


def main() -> None:
    builder = StateGraph(Chat)
    builder.add_node("remember", remember)
    builder.add_node("answer", answer)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "answer")
    builder.add_edge("answer", END)
    graph = builder.compile(store=MemstreamStore())  # MEMSTREAM_API_KEY, MEMSTREAM_URL

    config: RunnableConfig = {"configurable": {"user_id": f"user_{uuid.uuid4().hex[:8]}"}}
    for question in ["Remember that I take my coffee with oat milk and no sugar", "How do I take my coffee?"]:
        print(question)
        print("->", graph.invoke(Chat(question=question), config)["answer"])


if __name__ == "__main__":
    main()
