"""``memories.log_offset`` (where a memory was said in the log, memory.retrieval.said_order) on a projection
that was built before the column existed: the schema adds it once and fills it with exactly what the fold
writes, from the MemoryExtracted version rows, so search ties break the same way as after a replay."""

from __future__ import annotations

import numpy as np
import psycopg

from memory.contract.positions import LogPosition
from memory.settings import Settings
from projections.base import Positioned
from projections.postgres.projector import PostgresProjector
from tests.support import create_schema, make_turn, pipeline_events, unique

TOPIC = "memstream.memories.v1"


def offsets(dsn: str) -> dict[str, int | None]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT memory_id, log_offset FROM memories").fetchall())


def test_a_projection_from_before_the_column_gets_the_offsets_the_fold_writes(stack_settings: Settings) -> None:
    dsn = create_schema(stack_settings.postgres_dsn, unique("said_"))
    user = unique("u")
    turns = [make_turn(user, text, f"t{i}") for i, text in enumerate(["I live in Porto.", "I work as a nurse."])]
    events = pipeline_events(turns, lambda texts: [np.ones(384, np.float32) for _ in texts])
    projector = PostgresProjector(dsn, (TOPIC,), name=unique("pg-"))
    projector.apply_batch([Positioned(e, LogPosition(TOPIC, 0, 40 + i)) for i, e in enumerate(events)])
    projector.close()
    written = offsets(dsn)
    assert len(written) == 2 and None not in written.values()

    with psycopg.connect(dsn, autocommit=True) as conn:  # the projection as the previous version left it
        conn.execute("ALTER TABLE memories DROP COLUMN log_offset")
    for _ in range(2):  # the first start adds and fills the column, the next one finds it there
        PostgresProjector(dsn, (TOPIC,), name=unique("pg-")).close()
        assert offsets(dsn) == written
