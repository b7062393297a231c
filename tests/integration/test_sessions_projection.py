"""The PostgreSQL projector's sessions (``projections/postgres/sessions.py``) against a real PostgreSQL: applying
a batch twice is applying it once, turns arriving out of order in ``occurred_at`` (a late turn that merges two
sessions, one that stands alone between two, one before the first) give the sessions of the whole set, and a
rebuild in one batch equals the live table built from many small ones. The expected sessions come from the core's
rule (``memory.conversations.sessions.infer_sessions``) over the set of turns."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

import psycopg
import pytest

from memory.contract.events import ConversationTurnReceived, UserErased
from memory.contract.positions import LogPosition
from memory.conversations.sessions import TOOL_METADATA_KEY, infer_sessions
from memory.settings import Settings
from projections.base import Positioned
from projections.postgres import sessions as pg_sessions
from projections.postgres.projector import PostgresProjector
from tests.support import T0, create_schema, make_turn, unique

TURNS = "memstream.turns.v1"
GAP = timedelta(minutes=30)

SessionRows = list[tuple[str, str, str, str | None, datetime, datetime, int]]


def turn(user: str, turn_id: str, minute: float, conversation: str = "c", session: str | None = None,
         tool: bool = False) -> ConversationTurnReceived:  # fmt: skip
    made = make_turn(user, f"Turn {turn_id} of {conversation}.", turn_id, occurred_at=T0 + timedelta(minutes=minute))
    return replace(
        made,
        conversation_id=conversation,
        session_id=session,
        metadata={TOOL_METADATA_KEY: "archival_memory_insert"} if tool else {},
    )


def conversation_log(user: str) -> list[ConversationTurnReceived]:
    """Two conversations of one user, in the order a producer sent them: late turns in ``occurred_at`` included."""
    return [
        turn(user, "a1", 0),
        turn(user, "a2", 10),
        turn(user, "a3", 100),  # a second sitting
        turn(user, "a4", 110),
        turn(user, "a5", 300),  # a third
        turn(user, "a6", 55),  # late: 45 minutes from a2 and from a3, it stands alone between them
        turn(user, "a7", 35),  # late: 25 minutes from a2 and 20 from a6 - a6 joins the first sitting
        turn(user, "a8", 80),  # late: 25 minutes from a6 and 20 from a3 - the first two sittings merge
        turn(user, "a9", -200),  # before everything: the new session one
        turn(user, "a10", 310, tool=True),  # a memory tool's write: no conversation, no session
        turn(user, "e1", 120, session="planning"),  # explicit: whatever the gaps, one session
        turn(user, "e2", 900, session="planning"),
        turn(user, "e3", 60, session="retro"),
        turn(user, "b1", 0, conversation="other"),  # another conversation: sessions of its own
        turn(user, "b2", 200, conversation="other"),
    ]


def expected(turns: list[ConversationTurnReceived]) -> SessionRows:
    """The core's rule applied to the whole set of turns, as rows of ``conversation_sessions``."""
    inferred: dict[tuple[str, str, str], list[datetime]] = defaultdict(list)
    explicit: dict[tuple[str, str, str, str], list[datetime]] = defaultdict(list)
    for t in turns:
        if TOOL_METADATA_KEY in t.metadata:
            continue
        key = (t.scope.app_id, t.scope.user_id, t.conversation_id)
        if t.session_id is None:
            inferred[key].append(t.envelope.occurred_at)
        else:
            explicit[(*key, t.session_id)].append(t.envelope.occurred_at)
    rows: SessionRows = [(*k, s, min(times), max(times), len(times)) for (*k, s), times in explicit.items()]
    for key, times in inferred.items():
        rows += [(*key, None, span.started_at, span.ended_at, span.turn_count) for span in infer_sessions(times, GAP)]
    return sorted(rows, key=_order)


def _order(row: tuple[object, ...]) -> tuple[str, ...]:
    return tuple(str(value) for value in row)


def stored(dsn: str) -> SessionRows:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT app_id, user_id, conversation_id, session_id, started_at, ended_at, turn_count"
            " FROM conversation_sessions"
        ).fetchall()
    return sorted(rows, key=_order)


def positioned(turns: list[ConversationTurnReceived], first_offset: int = 0) -> list[Positioned]:
    return [Positioned(t, LogPosition(TURNS, 0, first_offset + i)) for i, t in enumerate(turns)]


def projector(settings: Settings) -> tuple[str, PostgresProjector]:
    dsn = create_schema(settings.postgres_dsn, unique("sessions"))
    return dsn, PostgresProjector(dsn, (TURNS,), session_gap=GAP)


def test_turns_one_at_a_time_out_of_order_give_the_sessions_of_the_whole_set(stack_settings: Settings) -> None:
    user = unique("u-")
    log = conversation_log(user)
    dsn, live = projector(stack_settings)
    for item in positioned(log):
        live.apply_batch([item])
    rows = stored(dsn)
    assert rows == expected(log)
    first = [r for r in rows if r[2] == "c" and r[3] is None]
    # a9 alone; a1, a2, a7, a6, a8, a3, a4 one sitting (the late turns bridged it); a5 alone.
    assert [(r[4], r[5], r[6]) for r in first] == [
        (T0 - timedelta(minutes=200), T0 - timedelta(minutes=200), 1),
        (T0, T0 + timedelta(minutes=110), 7),
        (T0 + timedelta(minutes=300), T0 + timedelta(minutes=300), 1),
    ]
    assert {(r[3], r[6]) for r in rows if r[3] is not None} == {("planning", 2), ("retro", 1)}
    live.close()


def test_applying_a_batch_twice_is_applying_it_once(stack_settings: Settings) -> None:
    user = unique("u-")
    log = conversation_log(user)
    dsn, live = projector(stack_settings)
    live.apply_batch(positioned(log))
    once = stored(dsn)
    live.apply_batch(positioned(log))  # behind the checkpoint: skipped
    live.apply_batch(positioned(log, first_offset=len(log)))  # redelivered past it: the turns are known by id
    live.close()
    # A projector restarted on a schema that lost its checkpoints reads the same events once more.
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM projection_checkpoints")
    again = PostgresProjector(dsn, (TURNS,), session_gap=GAP)
    again.apply_batch(positioned(log))
    again.close()
    assert stored(dsn) == once == expected(log)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rebuild_in_one_batch_equals_live_in_shuffled_small_batches(stack_settings: Settings, seed: int) -> None:
    user = unique("u-")
    log = conversation_log(user)
    shuffled = list(log)
    random.Random(seed).shuffle(shuffled)
    live_dsn, live = projector(stack_settings)
    items = positioned(shuffled)
    cut = sorted(random.Random(seed).sample(range(1, len(items)), 4))
    for start, end in zip([0, *cut], [*cut, len(items)], strict=True):
        live.apply_batch(items[start:end])
    rebuilt_dsn, rebuild = projector(stack_settings)
    rebuild.apply_batch(positioned(log))
    live.close()
    rebuild.close()
    assert stored(live_dsn) == stored(rebuilt_dsn) == expected(log)


def test_an_erased_user_has_no_sessions_and_new_turns_start_afresh(stack_settings: Settings) -> None:
    user = unique("u-")
    log = conversation_log(user)
    dsn, live = projector(stack_settings)
    live.apply_batch(positioned(log))
    last = log[-1]
    envelope = replace(last.envelope, event_id=unique("erase-"), event_type="UserErased")
    erased = UserErased(envelope=replace(envelope, recorded_at=last.envelope.recorded_at + timedelta(hours=1)))
    afterwards = turn(user, "z1", 20)
    afterwards = replace(afterwards, envelope=replace(afterwards.envelope, recorded_at=T0 + timedelta(days=1)))
    live.apply_batch([Positioned(erased, LogPosition(TURNS, 0, len(log))), *positioned([afterwards], len(log) + 1)])
    live.close()
    assert stored(dsn) == expected([afterwards])


def test_a_different_gap_gives_different_sessions(stack_settings: Settings) -> None:
    user = unique("u-")
    log = [turn(user, "a1", 0), turn(user, "a2", 45), turn(user, "a3", 200)]
    dsn = create_schema(stack_settings.postgres_dsn, unique("sessions"))
    wide = PostgresProjector(dsn, (TURNS,), session_gap=timedelta(hours=1))
    wide.apply_batch(positioned(log))
    wide.close()
    assert [r[6] for r in stored(dsn)] == [2, 1]


def test_a_schema_projected_before_sessions_gets_them_from_its_turns_when_a_projector_opens_it(
    stack_settings: Settings,
) -> None:
    user = unique("u-")
    log = conversation_log(user)
    dsn, before = projector(stack_settings)
    before.apply_batch(positioned(log))
    before.close()
    # What the code before sessions left: turns, no session column, no sessions table.
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE conversation_sessions")
        conn.execute("ALTER TABLE conversation_turns DROP COLUMN session_id")
    without_explicit = [replace(t, session_id=None) for t in log]  # the old turns carried none
    pg_sessions.BACKFILL_CHUNK, chunk = 4, pg_sessions.BACKFILL_CHUNK  # several chunks, each merged into the last
    try:
        PostgresProjector(dsn, (TURNS,), session_gap=GAP).close()
    finally:
        pg_sessions.BACKFILL_CHUNK = chunk
    assert stored(dsn) == expected(without_explicit)
    PostgresProjector(dsn, (TURNS,), session_gap=GAP).close()  # a second start finds the table: nothing again
    assert stored(dsn) == expected(without_explicit)
