"""Logs written before the rescue had its own event still read, and still mean what they meant.

``data/memory_log_before_rescue.json`` holds the bytes ``Codec.encode`` wrote at commit ab2b127, before
``MemoryRescued`` existed (its ``written_by`` says so): one memory extracted, embedded, activated, decayed,
accessed, rescued the old way (``MemoryDecayed(state="active")``), then re-scored. A memory log is replayed
from offset 0 by ``memstream replay rebuild``, so those bytes must decode with today's codec and fold, in the
lifecycle agent and in every projection, exactly as the same log with a ``MemoryRescued`` does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from memory.contract.codec import SCHEMA_DIR, Codec, load_schema_file
from memory.contract.events import (
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryRescued,
)
from memory.contract.positions import LogPosition
from memory.contract.records import to_record
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.state import UserState, fold
from memory.lifecycle.transitions import target_state
from projections.base import Positioned
from projections.milvus.projector import _touches_row
from projections.neo4j.plan import row_of
from projections.postgres import fold as pg

OLD_LOG = Path(__file__).parent / "data" / "memory_log_before_rescue.json"
DECAYED_V1 = SCHEMA_DIR / "history" / "memory_decayed.v1.avsc"
OLD_RESCUE = 5  # the MemoryDecayed(state="active") in the old log


def old_messages() -> list[bytes]:
    data: dict[str, Any] = json.loads(OLD_LOG.read_text())
    return [bytes.fromhex(m["hex"]) for m in data["messages"]]


def old_log() -> list[Event]:
    return [Codec().decode(message) for message in old_messages()]


def as_today(events: list[Event]) -> list[Event]:
    """The same log as today's lifecycle agent writes it: the rescue as a MemoryRescued with the same id
    (``memory.lifecycle.reevaluation`` derives it as before), caused by the same access."""
    old = events[OLD_RESCUE]
    access = events[OLD_RESCUE - 1]
    assert isinstance(old, MemoryDecayed) and isinstance(access, MemoryAccessed)
    rescued = MemoryRescued(
        envelope=replace(old.envelope, event_type="MemoryRescued"),
        memory_id=old.memory_id,
        importance=old.importance,
        request_id=access.request_id,
    )
    return [*events[:OLD_RESCUE], rescued, *events[OLD_RESCUE + 1 :]]


def test_every_message_written_before_the_change_decodes_with_todays_codec() -> None:
    events = old_log()
    assert [type(e) for e in events] == [
        MemoryExtracted,
        MemoryEmbedded,
        MemoryActivated,
        MemoryDecayed,
        MemoryAccessed,
        MemoryDecayed,
        MemoryDecayed,
    ]
    assert [(e.state, e.importance) for e in events if isinstance(e, MemoryDecayed)] == [
        ("decaying", 0.0979),
        ("active", 0.5),
        (None, 0.49),
    ]
    extracted = events[0]
    assert isinstance(extracted, MemoryExtracted)
    assert (extracted.memory_id, extracted.text) == ("m-hike", "Alice loves hiking in the Alps.")
    assert extracted.importance == pytest.approx(0.45)  # a float in the schema, not a double
    assert events[OLD_RESCUE].envelope.causation_id == events[OLD_RESCUE - 1].event_id


def test_the_kept_v1_decayed_schema_encodes_what_todays_codec_decodes() -> None:
    """Encoded with the writer schema of before (kept in schemas/avro/history/), decoded with today's codec.
    Only the schema's doc changed, which the Avro fingerprint ignores: the wire format is the same."""
    envelope = json.loads((SCHEMA_DIR / "envelope.avsc").read_text())
    v1 = load_schema_file(DECAYED_V1, envelope)
    codec = Codec()
    old = old_log()[OLD_RESCUE]
    data = codec.encode_dict("memstream.MemoryDecayed", to_record(old), schema=v1)
    assert data == old_messages()[OLD_RESCUE]  # what the code of before wrote, byte for byte
    assert data[2:10] == codec.fingerprint_of("memstream.MemoryDecayed")
    decoded = Codec().decode(data)
    assert decoded == old
    assert target_state(decoded) is MemoryState.ACTIVE  # still a rescue


def test_todays_rescue_round_trips() -> None:
    rescued = as_today(old_log())[OLD_RESCUE]
    codec = Codec()
    data = codec.encode(rescued)
    assert data[2:10] == codec.fingerprint_of("memstream.MemoryRescued")
    assert codec.decode(data) == rescued


def test_the_lifecycle_agent_folds_an_old_rescue_as_a_rescue() -> None:
    states = []
    for log in (old_log(), as_today(old_log())):
        state = UserState()
        seen = []
        for event in log:
            fold(state, event)
            seen.append(state.memories["m-hike"].state)
        states.append(seen)
        tracked = state.memories["m-hike"]
        assert (tracked.state, tracked.generation, tracked.access_count) == ("active", 4, 1)
    assert states[0] == states[1] == ["extracted", "stored", "active", "decaying", "decaying", "active", "active"]


def postgres_plan(log: list[Event]) -> pg.Plan:
    plan = pg.Plan()
    for offset, event in enumerate(log):
        pg.fold(plan, Positioned(event, LogPosition("memstream.memories.v1", 0, offset)))
    return plan


def test_the_postgres_projection_folds_an_old_rescue_as_a_rescue() -> None:
    old, today = postgres_plan(old_log()), postgres_plan(as_today(old_log()))
    # The version rows (the memory's history) differ only in the name of the rescue's event.
    assert [row[2:4] for row in old.versions] == [
        ("MemoryExtracted", "extracted"),
        ("MemoryEmbedded", "stored"),
        ("MemoryActivated", "active"),
        ("MemoryDecayed", "decaying"),
        ("MemoryDecayed", "active"),
        ("MemoryDecayed", "active"),
    ]
    renamed = [(*row[:2], "MemoryRescued", *row[3:]) if i == 4 else row for i, row in enumerate(old.versions)]
    assert today.versions == renamed
    assert old.memories == today.memories
    memory = old.memories["m-hike"]
    assert (memory.state, memory.importance) == (MemoryState.ACTIVE, 0.49)


@pytest.mark.parametrize("log", [old_log(), as_today(old_log())], ids=["old", "today"])
def test_the_graph_and_vector_projections_see_the_same_step(log: list[Event]) -> None:
    rescue = log[OLD_RESCUE]
    row = row_of(rescue)
    assert row is not None
    assert row.values == {
        "memory_id": "m-hike",
        "props": {"importance": 0.5},
        "moves": {"decaying": "active"},  # the Cypher guard: only a decaying memory is rescued
    }
    assert _touches_row(rescue)  # Milvus moves the row's state (memory.lifecycle.machine.advance)


# --- MemoryAccessed.seen_state --------------------------------------------------------------------------------

ACCESSED_V1 = SCHEMA_DIR / "history" / "memory_accessed.v1.avsc"
OLD_ACCESS = 4  # the MemoryAccessed in the old log, written before seen_state


def test_an_access_written_before_seen_state_decodes_without_it() -> None:
    codec = Codec()
    old_bytes = old_messages()[OLD_ACCESS]
    access = codec.decode(old_bytes)
    assert isinstance(access, MemoryAccessed)
    assert access.memory_id == "m-hike" and access.seen_state is None
    # The kept v1 schema is what wrote it (its fingerprint is the header's, not today's), byte for byte.
    envelope = json.loads((SCHEMA_DIR / "envelope.avsc").read_text())
    v1 = load_schema_file(ACCESSED_V1, envelope)
    assert codec.encode_dict("memstream.MemoryAccessed", to_record(access), schema=v1) == old_bytes
    assert old_bytes[2:10] != codec.fingerprint_of("memstream.MemoryAccessed")


def test_an_access_with_the_state_its_hit_saw_round_trips() -> None:
    old = old_log()[OLD_ACCESS]
    assert isinstance(old, MemoryAccessed)
    seen = replace(old, seen_state="consolidating")
    codec = Codec()
    data = codec.encode(seen)
    assert data[2:10] == codec.fingerprint_of("memstream.MemoryAccessed")
    assert codec.decode(data) == seen
