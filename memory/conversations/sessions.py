"""Sessions: how a conversation's turns fall into sittings. Pure: no I/O.

A *conversation* is ``(app_id, user_id, conversation_id)``: the conversation id a turn carries (the API's default
is the request's ``run_id``, else ``"default"``) within one user of one app. Agent and run do not split it: the
turns route reads a conversation across agents, and a run is already a conversation by default.

A session is either

- **explicit**: every turn that carries the same ``session_id`` in the conversation; it spans its earliest to its
  latest ``occurred_at``, whatever lies between; or
- **inferred**: among the conversation's turns without a ``session_id``, a maximal run of turns in which each turn
  follows the one before by at most the gap (``Settings.session_gap_minutes``); a longer pause starts a new one.

Both are functions of the *set* of turns, never of the order they arrived in: inferred sessions are the
connected components of "at most the gap apart" on the time line, so a late turn either joins the session it
falls in, extends one, bridges two (they merge) or stands alone (a new session, and the ones after it move down
one number). Adding turns only ever grows or merges sessions (``merge_sessions``), never splits one. Sessions are
numbered 1, 2, ... per conversation by start (``session_order``) when read, so numbers never need rewriting when a
late turn changes them.

Turns a memory tool wrote (``TOOL_METADATA_KEY`` in their metadata) are memory, not conversation: they belong to
no session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

# The metadata key a memory tool (or the LangGraph store) puts on the turns it writes, with its name as the value.
TOOL_METADATA_KEY = "memstream_tool"

# Web analytics' inactivity timeout (Google Analytics ends a session after 30 idle minutes): long enough for a user
# who steps away for coffee to come back to the same sitting, short enough that "this morning" and "this
# afternoon" are two. Conversations that are days apart (LoCoMo's sessions) split under any gap of hours.
DEFAULT_GAP = timedelta(minutes=30)


class ConversationKey(NamedTuple):
    app_id: str
    user_id: str
    conversation_id: str


@dataclass(frozen=True, order=True)
class Span:
    """One inferred session: its first and last turn's ``occurred_at`` and how many turns it holds."""

    started_at: datetime
    ended_at: datetime
    turn_count: int


def is_conversation(metadata: Mapping[str, str]) -> bool:
    """Whether a turn is part of the conversation (a memory tool's write is not)."""
    return TOOL_METADATA_KEY not in metadata


def infer_sessions(times: Iterable[datetime], gap: timedelta) -> list[Span]:
    """The inferred sessions of turns said at ``times`` (any order, repeats allowed), oldest first.

    A pause of exactly ``gap`` stays in the session; only a longer one starts a new session."""
    return merge_sessions((), times, gap)


def merge_sessions(sessions: Iterable[Span], new_times: Iterable[datetime], gap: timedelta) -> list[Span]:
    """The inferred sessions of the turns of ``sessions`` (themselves inferred with ``gap``) and turns said at
    ``new_times``: ``infer_sessions(old + new) == merge_sessions(infer_sessions(old), new)``.

    Adding turns never splits a session (no pause inside one grows), so a session can stand for its turns: each
    is an interval, each new turn an interval of no length, and intervals no more than the gap apart merge.
    This is how the projector updates a conversation from the sessions near its new turns alone, without
    reading the turns already stored."""
    if gap < timedelta(0):
        raise ValueError(f"the session gap must not be negative, got {gap}")
    pieces = sorted([*sessions, *(Span(t, t, 1) for t in new_times)])
    merged: list[Span] = []
    for piece in pieces:
        if merged and piece.started_at - merged[-1].ended_at <= gap:
            last = merged[-1]
            merged[-1] = Span(last.started_at, max(last.ended_at, piece.ended_at), last.turn_count + piece.turn_count)
        else:
            merged.append(piece)
    return merged


@dataclass(frozen=True)
class Reach:
    """Where new turns of one conversation can change its inferred sessions: the new turns' earliest and latest
    time, widened by the gap on both sides. A stored session that ends before ``low`` or starts after ``high`` is
    more than the gap away from every new turn, so it stays as it is. (Also a plain time window, ``[low, high]``.)"""

    low: datetime
    high: datetime

    @classmethod
    def of(cls, times: Iterable[datetime], gap: timedelta) -> Reach:
        ordered = sorted(times)
        if not ordered:
            raise ValueError("no new turns: nothing can change")
        return cls(ordered[0] - gap, ordered[-1] + gap)


def session_order(
    started_at: datetime, ended_at: datetime, session_id: str | None
) -> tuple[datetime, datetime, int, str]:
    """The key sessions are numbered by within a conversation: start, then end, then inferred before explicit,
    then the explicit id, so two sessions never tie. The SQL that numbers them (``api.sessions``) orders the same."""
    return (started_at, ended_at, 0 if session_id is None else 1, session_id or "")
