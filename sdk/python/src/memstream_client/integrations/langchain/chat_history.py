"""``MemstreamChatMessageHistory``: LangChain's ``BaseChatMessageHistory`` on memstream's conversation log.

A session is a conversation (``session_id`` is the API's ``conversation_id``) of one user (and optionally one
agent). Adding messages records them as turns (``POST /v1/memories`` with ``messages``), so memories are
extracted from them like from any conversation (``infer=False`` stores each verbatim instead); reading them back
is ``GET /v1/conversations/{id}/turns``, oldest first, waiting for this history's own writes (read-your-writes).

What a turn keeps of a message: its role, text and ``name`` (the speaker), and a tool message's
``tool_call_id`` (in the turn's metadata). Not kept: an AI message's tool calls, additional kwargs and response
metadata, and messages without text (an AI message that only calls tools), which are skipped.

``clear()`` raises ``NotImplementedError``: the conversation log is the record memories are traced back to, and
memstream has no way to remove one conversation's turns. Start a new session (another ``session_id``) to begin
again, or erase the whole user (``Memstream.delete_all``, admin scope).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage

from memstream_client.async_client import AsyncMemstream
from memstream_client.client import Memstream
from memstream_client.models import LoggedTurn

# The API takes at most 100 messages a request and answers at most 500 turns a page.
MESSAGES_PER_REQUEST = 100
TURNS_PER_PAGE = 500
TOOL_CALL_ID_KEY = "tool_call_id"
_ROLES: dict[type[BaseMessage], str] = {
    HumanMessage: "user",
    AIMessage: "assistant",
    SystemMessage: "system",
    ToolMessage: "tool",
}
_CHAT_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant", "system": "system"}


class MemstreamChatMessageHistory(BaseChatMessageHistory):
    """The messages of one conversation (``session_id``) of one user, kept in memstream.

    ``client`` serves the sync methods and ``async_client`` the async ones (without it they run the sync ones in
    a thread); with neither, a ``Memstream()`` from ``MEMSTREAM_API_KEY``/``MEMSTREAM_URL`` is made.
    ``metadata`` goes on every turn; ``infer=False`` stores messages verbatim instead of extracting memories.
    """

    def __init__(
        self,
        session_id: str,
        *,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        client: Memstream | None = None,
        async_client: AsyncMemstream | None = None,
        metadata: Mapping[str, str] | None = None,
        infer: bool = True,
    ):
        super().__init__()
        self.session_id = session_id
        self.user_id = user_id
        self.app_id = app_id
        self.agent_id = agent_id
        self.client = client if client is not None or async_client is not None else Memstream()
        self.async_client = async_client
        self.metadata = dict(metadata or {})
        self.infer = infer

    # --- reading ---------------------------------------------------------------------------------------------

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]  # a property, as the base class allows
        client = self._sync()
        turns: list[LoggedTurn] = []
        while True:
            page = client.conversation_turns(
                self.session_id, **self._scope(), limit=TURNS_PER_PAGE, offset=len(turns), read_your_writes=True
            )
            turns.extend(page.results)
            if not page.results or len(turns) >= page.total:
                return [message_of(turn) for turn in turns]

    async def aget_messages(self) -> list[BaseMessage]:
        if self.async_client is None:
            return await super().aget_messages()
        turns: list[LoggedTurn] = []
        while True:
            page = await self.async_client.conversation_turns(
                self.session_id, **self._scope(), limit=TURNS_PER_PAGE, offset=len(turns), read_your_writes=True
            )
            turns.extend(page.results)
            if not page.results or len(turns) >= page.total:
                return [message_of(turn) for turn in turns]

    # --- writing ---------------------------------------------------------------------------------------------

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        client = self._sync()
        for chunk, metadata in self._requests(messages):
            client.add(chunk, **self._scope(), conversation_id=self.session_id, metadata=metadata, infer=self.infer)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        if self.async_client is None:
            await super().aadd_messages(messages)
            return
        for chunk, metadata in self._requests(messages):
            await self.async_client.add(
                chunk, **self._scope(), conversation_id=self.session_id, metadata=metadata, infer=self.infer
            )

    def clear(self) -> None:
        raise NotImplementedError(
            "memstream keeps a conversation's turns as the record its memories come from and cannot remove one"
            " conversation: start a new session_id, or erase the whole user with Memstream.delete_all (admin)"
        )

    async def aclear(self) -> None:
        self.clear()

    # --- helpers ---------------------------------------------------------------------------------------------

    def _sync(self) -> Memstream:
        if self.client is None:
            raise RuntimeError("this history was given only an async_client: use the async methods (aget_messages...)")
        return self.client

    def _scope(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "app_id": self.app_id, "agent_id": self.agent_id}

    def _requests(self, messages: Sequence[BaseMessage]) -> list[tuple[list[dict[str, str]], dict[str, str]]]:
        """The add requests for ``messages``, in order: consecutive messages share one request (their turns then
        keep the order given), up to the API's limit; a tool message gets its own, since its ``tool_call_id``
        goes in the request's metadata."""
        requests: list[tuple[list[dict[str, str]], dict[str, str]]] = []
        batch: list[dict[str, str]] = []
        for message in messages:
            turn = turn_of(message)
            if turn is None:
                continue
            if isinstance(message, ToolMessage):
                if batch:
                    requests.append((batch, self.metadata))
                    batch = []
                requests.append(([turn], {**self.metadata, TOOL_CALL_ID_KEY: message.tool_call_id}))
                continue
            batch.append(turn)
            if len(batch) == MESSAGES_PER_REQUEST:
                requests.append((batch, self.metadata))
                batch = []
        if batch:
            requests.append((batch, self.metadata))
        return requests


def turn_of(message: BaseMessage) -> dict[str, str] | None:
    """A message as the API's ``{"role", "content", "name"}``; None for a message without text."""
    text = str(message.text)
    if not text.strip():
        return None
    role = _ROLES.get(type(message))
    if role is None and isinstance(message, ChatMessage):
        role = _CHAT_ROLES.get(message.role.lower())
    if role is None:
        for kind, name in _ROLES.items():  # a subclass of a known message (e.g. a chunk)
            if isinstance(message, kind):
                role = name
                break
    if role is None:
        raise ValueError(f"memstream keeps user, assistant, system and tool messages; got a {message.type!r} message")
    turn = {"role": role, "content": text}
    if message.name:
        turn["name"] = message.name
    return turn


def message_of(turn: LoggedTurn) -> BaseMessage:
    if turn.role == "user":
        return HumanMessage(content=turn.text, name=turn.speaker, id=turn.turn_id)
    if turn.role == "assistant":
        return AIMessage(content=turn.text, name=turn.speaker, id=turn.turn_id)
    if turn.role == "system":
        return SystemMessage(content=turn.text, name=turn.speaker, id=turn.turn_id)
    if turn.role == "tool":
        call_id = turn.metadata.get(TOOL_CALL_ID_KEY, turn.turn_id)
        return ToolMessage(content=turn.text, tool_call_id=call_id, name=turn.speaker, id=turn.turn_id)
    return ChatMessage(content=turn.text, role=turn.role, name=turn.speaker, id=turn.turn_id)
