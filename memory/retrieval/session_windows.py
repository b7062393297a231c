"""From the sessions a question names ("our last session", "sessions 1 through 3") to the time they span.

The temporal reader (``memory.language.time_expressions.sessions``) only says which sessions are meant: by number
from the first, or by how many back from the session the question is asked in. This module resolves that against
a user's stored sessions (``conversation_sessions``, read by the API at search time) into a ``TimeRange``, which
search then treats like any named time (``memory.retrieval.time_scope``).

- Sessions count in the order they started, across the user's conversations (an agent talks with a user in one
  conversation at a time; a user with several sees them as one history). Only sessions started at or before the
  reference time count: a question asked "as of" an earlier moment knows nothing of later sessions.
- "N sessions ago" counts back from the session the question is asked in. That is the latest stored session if it
  is still going on (it ended no more than the session gap before the reference time: the question's own turn
  would join it), else a new session not stored yet. So "our last session" asked the next day is the latest
  stored one, and asked in the middle of a conversation it is the one before.
- The window runs from the first session's first turn to the last one's last turn, inclusive (a microsecond is
  added, as ranges are half-open). A session that does not exist ("our 20th session" of five) gives an empty
  window at the reference time: the question is about a time with nothing in it, and answering from elsewhere
  would pretend otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.language.time_expressions import SessionRef, TimeRange

_INCLUSIVE = timedelta(microseconds=1)


@dataclass(frozen=True, order=True)
class StoredSession:
    """A stored session's first and last turn times (``conversation_sessions.started_at``/``ended_at``)."""

    started_at: datetime
    ended_at: datetime


def current_index(sessions: Sequence[StoredSession], reference: datetime, gap: timedelta) -> int:
    """The index the question's own session has in ``sessions`` (sorted, started by the reference time): the
    latest one while it goes on, else one past the end (a session not stored yet)."""
    if sessions and reference - sessions[-1].ended_at <= gap:
        return len(sessions) - 1
    return len(sessions)


def session_indexes(ref: SessionRef, count: int, current: int) -> tuple[int, int] | None:
    """The first and last (0-based, inclusive) of ``count`` sessions the reference means, or None if none exist."""
    if ref.numbers is not None:
        first, last = ref.numbers[0] - 1, ref.numbers[1] - 1
    elif ref.ago is not None:
        first, last = current - ref.ago[1], current - ref.ago[0]
    else:
        return None
    first, last = max(first, 0), min(last, count - 1)
    return (first, last) if first <= last else None


def session_window(
    ref: SessionRef, sessions: Sequence[StoredSession], reference: datetime, gap: timedelta
) -> TimeRange:
    """The time the named sessions span, or an empty range at the reference time when they do not exist."""
    known = sorted(s for s in sessions if s.started_at <= reference)
    indexes = session_indexes(ref, len(known), current_index(known, reference, gap))
    if indexes is None:
        return TimeRange(reference, reference, ref.expression)
    first, last = indexes
    return TimeRange(known[first].started_at, known[last].ended_at + _INCLUSIVE, ref.expression)
