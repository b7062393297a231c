"""The turn before: context for the memories extracted from the next turn of a conversation.

"They were awestruck and humbled." or "I chose them 'cause they help LGBTQ+ folks" mean little alone; the
question that came before says what they are about. Each memory carries the previous turn of its
conversation (``MemoryExtracted.context``) and is embedded with it, so a search for "how did John's kids react
at the memorial" finds the answer. Measured on LoCoMo: bench/RESULTS.md.

The extraction agent remembers the recent turns of recently active conversations in process, not in a
Faust table: a table adds a recovery to every rebalance of the turns topic, and Faust's rebalances are where
its consumers stall (README, "Known issues"). The price: after a worker restart, the first turn of
each conversation is extracted without context. Whatever context a memory got is recorded in its event, so
projections and replays never depend on this memory. A turn delivered again finds itself among the recent
turns and gets the context it had the first time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from memory.contract.events import ConversationTurnReceived

RECENT_TURNS = 32  # how far back a redelivered turn can still find the context it had
RECENT_CONVERSATIONS = 50_000  # conversations remembered per worker (least recently active forgotten first)
CONTEXT_CHARS = 200  # the previous turn's start says what it was about; all of it would drown the memory


@dataclass(frozen=True)
class SeenTurn:
    turn_id: str
    rendered: str


@dataclass(frozen=True)
class RecentTurns:
    turns: tuple[SeenTurn, ...] = ()  # oldest first


def render_turn(speaker: str, text: str) -> str:
    """``Speaker: text``, cut at a word boundary to CONTEXT_CHARS."""
    body = " ".join(text.split())
    rendered = f"{speaker}: {body}" if speaker else body
    if len(rendered) <= CONTEXT_CHARS:
        return rendered
    cut = rendered[:CONTEXT_CHARS]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def place_turn(recent: RecentTurns, turn_id: str, rendered: str) -> tuple[str, RecentTurns]:
    """This turn's context (the previous turn, rendered; "" for the first one remembered), and the
    conversation's recent turns after it."""
    for position, seen in enumerate(recent.turns):
        if seen.turn_id == turn_id:  # seen before (redelivery): same context, nothing new to remember
            return (recent.turns[position - 1].rendered if position > 0 else ""), recent
    context = recent.turns[-1].rendered if recent.turns else ""
    return context, RecentTurns((*recent.turns, SeenTurn(turn_id, rendered))[-RECENT_TURNS:])


class RecentConversations:
    """The recent turns of the most recently active conversations, at most ``capacity`` of them."""

    def __init__(self, capacity: int):
        self._capacity = capacity
        self._by_key: OrderedDict[str, RecentTurns] = OrderedDict()

    def get(self, key: str) -> RecentTurns:
        return self._by_key.get(key, RecentTurns())

    def put(self, key: str, turns: RecentTurns) -> None:
        self._by_key[key] = turns
        self._by_key.move_to_end(key)
        while len(self._by_key) > self._capacity:
            self._by_key.popitem(last=False)

    def __len__(self) -> int:
        return len(self._by_key)

    def context_for(self, turn: ConversationTurnReceived) -> str:
        """The context of this turn's memories; the turn is remembered as context for the next one. A verbatim
        memory (infer=false) is the caller's own standalone statement: embedded without context."""
        key = f"{turn.scope.key}\x1f{turn.conversation_id}"
        context, after = place_turn(self.get(key), turn.event_id, render_turn(turn.speaker or "", turn.text))
        self.put(key, after)
        return context if turn.infer else ""
