"""The PostgreSQL fold's rows without a database: named records that are the tables' columns, from a pure fold.

The projector writes each record with the column list derived from its fields, so the one way left for a row
and its table to disagree is a field that is not a column (or a required column with no field): checked
here against ``schema.sql``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memory.contract.events import MemoryExtracted
from memory.contract.positions import LogPosition
from projections.base import Positioned
from projections.postgres.fold import VERSIONED, Plan, fold, segments, touched
from projections.postgres.rows import RECORDS, MemoryRow, TurnRow, VersionRow, columns
from tests.support import make_turn, pipeline_events, unique

SCHEMA = Path(__file__).resolve().parents[2] / "projections" / "postgres" / "schema.sql"
PROJECT_ROOT = SCHEMA.parents[2]


def _schema_columns() -> dict[str, dict[str, str]]:
    """table → column → its definition (type and constraints), from CREATE TABLE and ADD COLUMN."""
    sql = re.sub(r"--[^\n]*", "", SCHEMA.read_text())
    tables: dict[str, dict[str, str]] = {}
    for table, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\);", sql, re.S):
        for line in body.split(",\n"):
            name, _, definition = line.strip().partition(" ")
            if name.upper() not in ("PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT"):
                tables.setdefault(table, {})[name] = definition
    for table, name, definition in re.findall(r"ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) ([^;]+);", sql):
        tables[table][name] = definition
    return tables


@pytest.mark.parametrize("table", sorted(RECORDS))
def test_every_field_is_a_column_and_every_required_column_a_field(table: str) -> None:
    schema = _schema_columns()[table]
    fields = RECORDS[table]._fields
    assert set(fields) <= set(schema), f"{table}: fields that are not columns: {set(fields) - set(schema)}"
    required = {
        name
        for name, definition in schema.items()
        if "NOT NULL" in definition and "DEFAULT" not in definition and "GENERATED" not in definition
    }
    assert required <= set(fields), f"{table}: required columns with no field: {required - set(fields)}"


def test_the_column_list_is_the_field_order() -> None:
    assert columns(TurnRow).split(", ") == list(TurnRow._fields)
    assert columns(VersionRow).startswith("event_id, memory_id, event_type, state, text")


def test_the_fold_imports_no_database_driver() -> None:
    # A fresh interpreter in which psycopg cannot be imported at all.
    code = "import sys; sys.modules['psycopg'] = None; import projections.postgres.fold, projections.postgres.rows"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_a_folded_turn_gives_named_rows_with_plain_values() -> None:
    turn = make_turn(unique("u"), "I moved to Lisbon last year and I work as a nurse.", "t1")
    events = [turn, *pipeline_events([turn], lambda texts: [np.ones(384, np.float32) for _ in texts])]
    items = [Positioned(event, LogPosition("events", 0, offset)) for offset, event in enumerate(events)]
    [(segment, erasure)] = segments(items)
    assert erasure is None and touched(segment)
    plan = Plan()
    for item in segment:
        fold(plan, item)

    assert [type(row) for row in plan.turns] == [TurnRow]
    assert plan.turns[0].event_id == turn.event_id and plan.turns[0].metadata == {}
    created = plan.created_rows()
    extracted = [e for e in events if isinstance(e, MemoryExtracted)]
    assert created and all(isinstance(row, MemoryRow) for row in created)
    assert {row.memory_id for row in created} == {e.memory_id for e in extracted}
    assert all(isinstance(row.metadata, dict) and isinstance(row.source_turn_ids, list) for row in created)
    # One version per versioned event (not the turn, not EntitiesLinked), carrying its log position.
    assert all(isinstance(row, VersionRow) for row in plan.versions)
    versioned = [i.position.offset for i in segment if isinstance(i.event, VERSIONED)]
    assert [row.log_offset for row in plan.versions] == versioned
    assert {row.state for row in created} == {"active"}
