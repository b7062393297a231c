"""The PostgreSQL conversation log keeps exactly the turns extraction accepts
(memory.ingest.derivation.validate_turn)."""

from __future__ import annotations

from dataclasses import replace

import psycopg

from memory.contract.events import ConversationTurnReceived
from memory.contract.positions import LogPosition
from memory.settings import Settings
from projections.base import Positioned
from projections.postgres.projector import PostgresProjector
from tests.support import create_schema, make_turn, unique

TURNS = "memstream.turns.v1"
LIMIT = 60  # the projector's max_turn_chars, as wired from Settings.max_content_chars


def test_turns_extraction_dead_letters_are_not_logged_and_their_offsets_still_count(
    stack_settings: Settings,
) -> None:
    dsn = create_schema(stack_settings.postgres_dsn, unique("t"))
    user = unique("u-")
    good = make_turn(user, "I keep bees on my balcony in Lyon.", "good")
    refused: list[ConversationTurnReceived] = [
        replace(make_turn(user, "x", "nul"), text="I keep bees\x00 in Lyon."),
        replace(make_turn(user, "x", "empty"), text="  \n "),
        replace(make_turn(user, "x", "long"), text="b" * (LIMIT + 1)),
        make_turn(f"{user}\n", "I keep bees in Lyon.", "newline"),
        replace(make_turn(user, "x", "metadata"), text="I keep bees.", metadata={"k\x00": "v"}),
        replace(make_turn(user, "x", "speaker"), text="I keep bees.", speaker="Kim\x1b"),
    ]
    items = [Positioned(turn, LogPosition(TURNS, 0, offset)) for offset, turn in enumerate([*refused, good])]

    projector = PostgresProjector(dsn, (TURNS,), max_turn_chars=LIMIT)
    projector.apply_batch(items)

    with psycopg.connect(dsn) as conn:
        logged = conn.execute("SELECT turn_id, user_id, text FROM conversation_turns").fetchall()
    assert logged == [("good", user, good.text)]
    # Skipped, not stuck: the refused turns' offsets are behind the checkpoint like the good one's.
    assert projector.checkpoints() == {(TURNS, 0): len(items) - 1}


def test_the_limit_is_the_configured_one_not_a_default(stack_settings: Settings) -> None:
    dsn = create_schema(stack_settings.postgres_dsn, unique("t"))
    long_turn = make_turn(unique("u-"), "c" * 25_000, "1")
    PostgresProjector(dsn, (TURNS,), max_turn_chars=30_000).apply_batch(
        [Positioned(long_turn, LogPosition(TURNS, 0, 0))]
    )
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM conversation_turns").fetchone() == (1,)
