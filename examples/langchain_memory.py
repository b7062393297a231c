"""LangChain on memstream, against the API `make run` starts: a chat history kept in the conversation log, a
retriever over the memories extracted from it, and the memory tools as LangChain tools.

    make run                                                     # in one terminal; prints the admin key
    export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
    .venv/bin/python examples/langchain_memory.py                # in another

Anywhere else: `pip install './sdk/python[langchain]'`. No LLM is needed to run it: LangChain's scripted chat
model stands in for one (swap in any chat model, e.g. ChatOpenAI, unchanged otherwise).
"""

from __future__ import annotations

import uuid

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory
from memstream_client import Memstream
from memstream_client.integrations.langchain import MemstreamChatMessageHistory, MemstreamRetriever, memory_tools


def main() -> None:
    client = Memstream(read_your_writes=True)
    user_id = f"user_{uuid.uuid4().hex[:8]}"  # a fresh user, so that a second run starts clean

    # 1. A chain whose conversation is recorded in memstream (each turn also feeds memory extraction).
    model = FakeListChatModel(responses=["Nice to meet you, Marta!", "You live in Coimbra."])  # an LLM stand-in
    prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("history"), ("human", "{question}")])
    chain = RunnableWithMessageHistory(
        prompt | model,
        lambda session_id: MemstreamChatMessageHistory(session_id, user_id=user_id, client=client),
        input_messages_key="question",
        history_messages_key="history",
    )
    config = {"configurable": {"session_id": "chat-1"}}
    chain.invoke({"question": "Hi, I'm Marta and I live in Coimbra."}, config=config)  # type: ignore[arg-type]
    chain.invoke({"question": "Where do I live?"}, config=config)  # type: ignore[arg-type]
    for message in MemstreamChatMessageHistory("chat-1", user_id=user_id, client=client).messages:
        print(f"{message.type:>6}: {message.content}")

    # 2. The memories extracted from that conversation, as Documents.
    retriever = MemstreamRetriever(client=client, user_id=user_id, k=3)
    for document in retriever.invoke("where does Marta live"):
        print(f"{document.metadata['score']:.3f}  {document.page_content}  {document.metadata['retrievers']}")

    # 3. The memory tools, ready for model.bind_tools(tools) or any agent.
    tools = {tool.name: tool for tool in memory_tools(client, user_id=user_id)}
    print(tools["core_memory_append"].invoke({"label": "human", "content": "Name: Marta; lives in Coimbra"}))
    print(tools["archival_memory_search"].invoke({"query": "Coimbra"}))


if __name__ == "__main__":
    main()
