"""Where a turn sits in its conversation: its position, and the turn before it as context for its memories.

"They were awestruck and humbled." or "I chose them 'cause they help LGBTQ+ folks" mean little alone; the
question that came before says what they are about. Each memory carries the previous turn of its
conversation (``MemoryExtracted.context``) and is embedded with it, so a search for "how did John's kids react
at the memorial" finds the answer. Each memory also records its turn's position in the conversation
(metadata ``turn_index``), so that search can tell which memories were said near each other
(memory.ranking.with_conversation_support). Measured on LoCoMo: bench/RESULTS.md.

The extraction agent folds each conversation's recent turns into a table. A turn delivered again after a
crash finds itself among them and gets the context and position it had the first time, so re-extraction
repeats the same events instead of inventing new ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

RECENT_TURNS = 32  # how far back a redelivered turn can still find the context it had
CONTEXT_CHARS = 200  # the previous turn's start says what it was about; all of it would drown the memory


@dataclass(frozen=True)
class SeenTurn:
    turn_id: str
    rendered: str
    index: int  # 0 for a conversation's first turn


@dataclass(frozen=True)
class RecentTurns:
    turns: tuple[SeenTurn, ...] = ()  # oldest first
    count: int = 0  # turns seen in the conversation so far

    def to_json(self) -> bytes:
        return json.dumps(
            {"count": self.count, "turns": [[t.turn_id, t.rendered, t.index] for t in self.turns]}
        ).encode()

    @staticmethod
    def from_json(raw: bytes | None) -> RecentTurns:
        if not raw:
            return RecentTurns()
        body = json.loads(raw)
        turns = tuple(SeenTurn(str(turn_id), str(text), int(index)) for turn_id, text, index in body["turns"])
        return RecentTurns(turns, int(body["count"]))


@dataclass(frozen=True)
class TurnPlace:
    context: str  # the previous turn, rendered; "" for the first
    index: int


def render_turn(speaker: str, text: str) -> str:
    """``Speaker: text``, cut at a word boundary to CONTEXT_CHARS."""
    body = " ".join(text.split())
    rendered = f"{speaker}: {body}" if speaker else body
    if len(rendered) <= CONTEXT_CHARS:
        return rendered
    cut = rendered[:CONTEXT_CHARS]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def place_turn(recent: RecentTurns, turn_id: str, rendered: str) -> tuple[TurnPlace, RecentTurns]:
    """This turn's context and position, and the conversation's recent turns after it."""
    for position, seen in enumerate(recent.turns):
        if seen.turn_id == turn_id:  # seen before (redelivery): same place, nothing new to remember
            context = recent.turns[position - 1].rendered if position > 0 else ""
            return TurnPlace(context, seen.index), recent
    context = recent.turns[-1].rendered if recent.turns else ""
    turn = SeenTurn(turn_id, rendered, recent.count)
    return TurnPlace(context, recent.count), RecentTurns((*recent.turns, turn)[-RECENT_TURNS:], recent.count + 1)
