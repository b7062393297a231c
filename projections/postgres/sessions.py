"""Keeps ``conversation_sessions`` right as turns arrive (``memory.conversations.sessions`` says what a session is).

Run in the batch's transaction with the turns the batch logged for the first time: a turn applied before is not
among them (the fold skips logged turns), so applying a batch twice changes nothing, and each turn is counted
into its session exactly once. Adding turns only grows or merges sessions, so the stored sessions stand for the
turns already stored and no turn is read back:

- an explicit session the batch names is upserted: the earliest start, the latest end, the count plus the
  batch's turns;
- per conversation, the stored inferred sessions within the gap of the batch's session-less turns (``Reach``) are
  deleted and returned in one statement, merged with the new turns by the core's rule (``merge_sessions``) and
  written back with COPY. Every other inferred session is more than the gap from every new turn and stays.

So the table depends only on the set of turns, whichever order and batches they came in: a late turn between two
sessions merges them or stands alone between them, and the numbers, computed when read, follow. A rebuild from
the log gives the live table (tests/integration/test_sessions_projection.py). A schema projected before sessions
existed gets its sessions from its stored turns when a projector first opens it (``backfill_sessions``), so it
too holds what a rebuild would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

import psycopg

from memory.conversations.sessions import ConversationKey, Reach, Span, is_conversation, merge_sessions
from projections.postgres.rows import SessionRow, columns

# ON CONFLICT names the partial unique index of explicit sessions.
UPSERT_EXPLICIT = f"""
INSERT INTO conversation_sessions ({columns(SessionRow)})
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[])
ON CONFLICT (app_id, user_id, conversation_id, session_id) WHERE session_id IS NOT NULL
DO UPDATE SET started_at = LEAST(conversation_sessions.started_at, EXCLUDED.started_at),
              ended_at = GREATEST(conversation_sessions.ended_at, EXCLUDED.ended_at),
              turn_count = conversation_sessions.turn_count + EXCLUDED.turn_count
"""

TAKE_NEAR = """
DELETE FROM conversation_sessions s
USING unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[])
  AS r(app_id, user_id, conversation_id, low, high)
WHERE s.app_id = r.app_id AND s.user_id = r.user_id AND s.conversation_id = r.conversation_id
  AND s.session_id IS NULL AND s.ended_at >= r.low AND s.started_at <= r.high
RETURNING s.app_id, s.user_id, s.conversation_id, s.started_at, s.ended_at, s.turn_count
"""


class SessionTurn(Protocol):
    """What sessions need of a turn: a ``TurnRow``, or a turn read back for the backfill."""

    @property
    def app_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def conversation_id(self) -> str: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def metadata(self) -> dict[str, str]: ...


class StoredTurn(NamedTuple):
    app_id: str
    user_id: str
    conversation_id: str
    session_id: str | None
    occurred_at: datetime
    metadata: dict[str, str]


# A schema whose turns were projected before sessions existed: its sessions from every stored turn, once.
STORED_TURNS = f"SELECT {columns(StoredTurn)} FROM conversation_turns"
SESSIONS_EXIST = (
    "SELECT to_regclass('conversation_sessions') IS NOT NULL, to_regclass('conversation_turns') IS NOT NULL"
)
# Adding turns in any grouping gives the same sessions, so the backfill streams them in bounded chunks.
BACKFILL_CHUNK = 10_000


def sessions_missing(cur: psycopg.Cursor[Any]) -> bool:
    """Before the schema's DDL: whether it holds turns but no sessions table (projected by an older version)."""
    row = cur.execute(SESSIONS_EXIST).fetchone()
    return row is not None and not row[0] and bool(row[1])


def backfill_sessions(cur: psycopg.Cursor[Any], gap: timedelta) -> None:
    """After the DDL created the table: every stored turn's session, as if each had just arrived."""
    with cur.connection.cursor(name="memstream_sessions_backfill") as stored:  # server-side: never all at once
        stored.execute(STORED_TURNS)
        while chunk := stored.fetchmany(BACKFILL_CHUNK):
            update_sessions(cur, [StoredTurn(*row) for row in chunk], gap)


def update_sessions(cur: psycopg.Cursor[Any], new_turns: Sequence[SessionTurn], gap: timedelta) -> None:
    """Count ``new_turns`` (logged by this batch, for the first time) into their conversations' sessions."""
    explicit: dict[tuple[str, str, str, str], list[datetime]] = defaultdict(list)
    inferred: dict[ConversationKey, list[datetime]] = defaultdict(list)
    for turn in new_turns:
        if not is_conversation(turn.metadata):
            continue
        key = ConversationKey(turn.app_id, turn.user_id, turn.conversation_id)
        if turn.session_id is None:
            inferred[key].append(turn.occurred_at)
        else:
            explicit[(*key, turn.session_id)].append(turn.occurred_at)
    if explicit:
        rows = [SessionRow(*key, min(times), max(times), len(times)) for key, times in sorted(explicit.items())]
        cur.execute(UPSERT_EXPLICIT, tuple(list(column) for column in zip(*rows, strict=True)))
    if inferred:
        _merge_inferred(cur, inferred, gap)


def _merge_inferred(cur: psycopg.Cursor[Any], new: dict[ConversationKey, list[datetime]], gap: timedelta) -> None:
    conversations = sorted(new)
    reaches = [Reach.of(new[key], gap) for key in conversations]
    cur.execute(
        TAKE_NEAR,
        (
            [k.app_id for k in conversations],
            [k.user_id for k in conversations],
            [k.conversation_id for k in conversations],
            [r.low for r in reaches],
            [r.high for r in reaches],
        ),
    )
    near: dict[ConversationKey, list[Span]] = defaultdict(list)
    for app_id, user_id, conversation_id, started_at, ended_at, turn_count in cur.fetchall():
        near[ConversationKey(app_id, user_id, conversation_id)].append(Span(started_at, ended_at, turn_count))
    with cur.copy(f"COPY conversation_sessions ({columns(SessionRow)}) FROM STDIN") as copy:
        for key in conversations:
            for span in merge_sessions(near[key], new[key], gap):
                copy.write_row(SessionRow(*key, None, span.started_at, span.ended_at, span.turn_count))
