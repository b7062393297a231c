"""``MemstreamSession``: the OpenAI Agents SDK's ``Session`` protocol over memstream's conversation log.

The session is one conversation (``conversation_id`` = ``session_id``) of one user (and agent, when given):
``add_items`` writes its text messages as turns (``POST /v1/memories``; ``items`` says what is kept), and
``get_items`` reads them back in order (``GET /v1/conversations/{id}/turns``), always after this session's own
writes are applied (read your writes, whatever the client's setting).

The log is append-only: what was said stays said, and memories drawn from it stay until deleted. So
``pop_item`` and ``clear_session`` do not remove turns; they append a marker turn (``items.SESSION_KEY`` in its
metadata) and the session's history is read as the log *after* the latest "cleared" marker, without the turns
a "withdrawn" marker names. The log keeps the whole story (what was said, and that it was withdrawn);
``search_conversations`` still finds a withdrawn turn; ``delete``/``delete_all`` forget memories.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import groupby

from agents.items import TResponseInputItem
from agents.memory import SessionSettings

from memstream_client.async_client import AsyncMemstream
from memstream_client.integrations.openai_agents.items import (
    CLEARED,
    MARKER_TEXT,
    POPPED,
    POPPED_TURN_KEY,
    SESSION_KEY,
    TurnToWrite,
    as_item,
    as_turn,
    marker_of,
)
from memstream_client.models import LoggedTurn

# The API's largest page of turns, and of messages in one add.
PAGE = 1000
MAX_MESSAGES_PER_ADD = 100
CONVERSATION_ROLES = ("user", "assistant", "system")


class MemstreamSession:
    """An Agents SDK session whose history is a memstream conversation.

    ``session_id`` is the conversation's id (``conversation_id`` of its turns); ``user_id`` whose conversation it
    is (a key bound to one user may leave it out); ``app_id`` default the credential's; ``agent_id`` given: the
    turns are that agent's, and only they are read back. ``session_settings.limit`` bounds what ``get_items``
    returns when the runner asks for everything. memstream draws long-term memories from the turns, as from any
    conversation added with ``add``.
    """

    def __init__(
        self,
        session_id: str,
        *,
        client: AsyncMemstream,
        user_id: str | None = None,
        app_id: str | None = None,
        agent_id: str | None = None,
        session_settings: SessionSettings | None = None,
    ):
        self.session_id = session_id
        self.session_settings = session_settings
        self._client = client
        self._user_id = user_id
        self._app_id = app_id
        self._agent_id = agent_id

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The history, oldest first; with ``limit``, its latest ``limit`` items (``session_settings.limit`` when
        not given)."""
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        if limit is not None and limit <= 0:
            return []
        newest_first: list[TResponseInputItem] = []
        async for turn in self._live_turns(wanted=limit):
            newest_first.append(as_item(turn))
            if limit is not None and len(newest_first) >= limit:
                break
        return newest_first[::-1]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Write the text messages among ``items`` as turns, in order (see ``items`` for what is kept)."""
        turns = [turn for turn in (as_turn(item) for item in items) if turn is not None]
        # One request per run of turns with the same metadata (a request's metadata is every turn's), in order.
        for _, run in groupby(turns, key=lambda turn: sorted(turn.metadata.items())):
            batch = list(run)
            for start in range(0, len(batch), MAX_MESSAGES_PER_ADD):
                await self._write(batch[start : start + MAX_MESSAGES_PER_ADD])

    async def pop_item(self) -> TResponseInputItem | None:
        """The latest item, withdrawn from the session (a marker turn records it; the turn itself stays in the
        log). None if the session is empty."""
        async for turn in self._live_turns(wanted=1):
            await self._mark(POPPED, {POPPED_TURN_KEY: turn.turn_id})
            return as_item(turn)
        return None

    async def clear_session(self) -> None:
        """Start the session's history over: a marker turn; earlier turns stay in the log (and their memories)."""
        await self._mark(CLEARED, {})

    # --- the log ---------------------------------------------------------------------------------------------------

    async def _write(self, turns: list[TurnToWrite]) -> None:
        await self._client.add(
            [{"role": turn.role, "content": turn.text} for turn in turns],
            user_id=self._user_id,
            app_id=self._app_id,
            agent_id=self._agent_id,
            conversation_id=self.session_id,
            metadata=turns[0].metadata or None,
        )

    async def _mark(self, what: str, more: dict[str, str]) -> None:
        await self._client.add(
            [{"role": "system", "content": MARKER_TEXT[what]}],
            user_id=self._user_id,
            app_id=self._app_id,
            agent_id=self._agent_id,
            conversation_id=self.session_id,
            metadata={SESSION_KEY: what, **more},
        )

    async def _live_turns(self, wanted: int | None) -> AsyncIterator[LoggedTurn]:
        """The session's messages, newest first: the log read backwards up to the latest "cleared" marker,
        without markers, withdrawn turns and turns that are not conversation. ``wanted``: how many the caller
        will take (None: all), which sizes the pages (a few more, for the markers and what they withdraw)."""
        size = PAGE if wanted is None else min(PAGE, 2 * wanted + 8)
        withdrawn: set[str] = set()
        seen: set[str] = set()
        offset = 0
        while True:
            page = await self._client.conversation_turns(
                self.session_id,
                user_id=self._user_id,
                app_id=self._app_id,
                agent_id=self._agent_id,
                limit=size,
                offset=offset,
                newest_first=True,
                read_your_writes=True,
            )
            for turn in page:
                if turn.turn_id in seen:
                    continue  # a turn written while paging moved the rest of the log one place on
                seen.add(turn.turn_id)
                marker = marker_of(turn)
                if marker == CLEARED:
                    return
                if marker == POPPED:
                    withdrawn.add(turn.metadata.get(POPPED_TURN_KEY, ""))
                elif turn.turn_id not in withdrawn and is_conversation(turn):
                    yield turn
            if len(page) < size:
                return
            offset += size


def is_conversation(turn: LoggedTurn) -> bool:
    return turn.role in CONVERSATION_ROLES and SESSION_KEY not in turn.metadata
