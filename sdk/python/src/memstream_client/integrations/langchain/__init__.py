"""LangChain on memstream (``pip install 'memstream-client[langchain]'``): a chat message history kept in the
conversation log, a retriever over hybrid search, and the five memory tools as LangChain tools."""

from memstream_client.integrations.langchain.chat_history import MemstreamChatMessageHistory
from memstream_client.integrations.langchain.retriever import MemstreamRetriever
from memstream_client.integrations.langchain.tools import amemory_tools, memory_tools

__all__ = ["MemstreamChatMessageHistory", "MemstreamRetriever", "amemory_tools", "memory_tools"]
