import copy
import json
from datetime import UTC, datetime

import pytest

from memory.contract.codec import MARKER, SCHEMA_DIR, Codec, load_schema_file, rabin_fingerprint
from memory.contract.events import (
    ConversationTurnReceived,
    DeadLetter,
    EntitiesLinked,
    Entity,
    Envelope,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
    Producer,
    Relation,
    Scope,
)
from memory.errors import DecodeError

NOW = datetime(2026, 3, 2, 9, 15, 0, 123456, tzinfo=UTC)


def envelope(event_type: str, event_id: str = "e-1") -> Envelope:
    return Envelope(event_id, event_type, 1, Scope("app", "u1", "agent", None), NOW, NOW, "cause", None, Producer("t"))


SAMPLES = [
    ConversationTurnReceived(
        envelope("ConversationTurnReceived"), "c1", "t1", "user", "Alice", "I live in Paris", True, {"k": "v"}
    ),
    MemoryExtracted(envelope("MemoryExtracted"), "m1", "Alice lives in Paris", "fact", ("t1",), ("e0",), 0.75, "rules"),
    MemoryEmbedded(envelope("MemoryEmbedded"), "m1", "all-MiniLM-L6-v2", (0.5, -0.25, 1.0)),
    MemoryActivated(envelope("MemoryActivated"), "m1"),
    EntitiesLinked(
        envelope("EntitiesLinked"),
        "m1",
        (Entity("x1", "Alice", "person"), Entity("x2", "Paris", "place")),
        (Relation("x1", "LIVES_IN", "x2"),),
    ),
    DeadLetter("d1", "bad", "DecodeError", "test", "topic", 2, 42, b"key", b"\x00\x01", NOW),
]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_type_round_trips(record: object) -> None:
    codec = Codec()
    data = codec.encode(record)
    assert data[:2] == MARKER
    assert codec.decode(data) == record


def test_header_carries_the_fingerprint_of_the_writer_schema() -> None:
    codec = Codec()
    data = codec.encode(SAMPLES[0])
    assert data[2:10] == codec.fingerprint_of("memstream.ConversationTurnReceived")
    assert codec.fingerprint_of("memstream.ConversationTurnReceived") != codec.fingerprint_of(
        "memstream.MemoryExtracted"
    )


def test_rabin_fingerprint_matches_the_avro_specification_for_a_primitive() -> None:
    # The Avro spec's CRC-64-AVRO of the canonical form of "int" is 0x7275d51a3f395c8f (big-endian hex).
    assert rabin_fingerprint(b'"int"') == bytes.fromhex("7275d51a3f395c8f")[::-1]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (b'{"json": true}', "marker"),
        (MARKER + b"\x00" * 8 + b"\x02", "unknown writer schema"),
    ],
)
def test_garbage_is_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        Codec().decode(data)


def test_corrupt_body_is_rejected() -> None:
    codec = Codec()
    data = codec.encode(SAMPLES[0])
    with pytest.raises(DecodeError, match=r"corrupt|does not fit"):
        codec.decode(data[:14])


def older_turn_schema() -> dict:
    """The turn schema as an older producer had it: no ``infer`` and no ``metadata`` yet."""
    envelope_schema = json.loads((SCHEMA_DIR / "envelope.avsc").read_text())
    schema = copy.deepcopy(load_schema_file(SCHEMA_DIR / "conversation_turn_received.avsc", envelope_schema))
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in ("infer", "metadata")]
    return schema


def older_turn_record(text: str) -> dict:
    """A turn as an older producer wrote it: envelope, no ``infer``, no ``metadata``."""
    return {
        "envelope": {
            "event_id": "old-1",
            "event_type": "ConversationTurnReceived",
            "schema_version": 1,
            "scope": {"app_id": "a", "user_id": "u", "agent_id": None, "run_id": None},
            "occurred_at": NOW,
            "recorded_at": NOW,
            "causation_id": None,
            "correlation_id": None,
            "producer": {"component": "old", "version": "0.0.1"},
        },
        "conversation_id": "c",
        "turn_id": "1",
        "role": "user",
        "speaker": None,
        "text": text,
    }


def test_events_written_with_an_older_schema_are_still_read() -> None:
    old = older_turn_schema()
    writer_codec = Codec()
    record = older_turn_record("from the past")
    data = writer_codec.encode_dict("memstream.ConversationTurnReceived", record, schema=old)
    assert data[2:10] != writer_codec.fingerprint_of("memstream.ConversationTurnReceived")

    reader = Codec(extra_writer_schemas=[old])
    event = reader.decode(data)
    assert isinstance(event, ConversationTurnReceived)
    assert event.text == "from the past"
    assert event.infer is True  # the reader's default fills the field the writer did not have
    assert event.metadata == {}


def test_unknown_older_schema_is_not_guessed() -> None:
    data = Codec().encode_dict("memstream.ConversationTurnReceived", older_turn_record("t"), schema=older_turn_schema())
    with pytest.raises(DecodeError, match="unknown writer schema"):
        Codec().decode(data)


def test_record_name_reads_only_the_header() -> None:
    codec = Codec()
    data = codec.encode(SAMPLES[2])
    assert codec.record_name(data) == "memstream.MemoryEmbedded"
    assert codec.record_name(data[:10]) == "memstream.MemoryEmbedded"
    assert codec.record_name(b"junk") is None
