"""LangGraph on memstream (``pip install 'memstream-client[langgraph]'``): ``MemstreamStore``, a
``langgraph.store.base.BaseStore`` whose items are memories, so a graph's long-term memory is memstream."""

from memstream_client.integrations.langgraph.store import MemstreamStore

__all__ = ["MemstreamStore"]
