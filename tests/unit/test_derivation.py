from datetime import UTC, datetime

import pytest

from memory.contract.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    Envelope,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
    Producer,
    Scope,
)
from memory.contract.ids import derived_event_id, entity_id_for, memory_id_for, turn_event_id_for
from memory.errors import InvalidEventError
from memory.ingest.derivation import activation_event, embedding_events, extraction_events, validate_turn
from memory.ingest.extraction import extract_facts
from memory.ingest.extraction_types import TurnInput

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def turn(
    text: str = "I live in Paris. I love coffee.", user: str = "u1", event_id: str = "turn-1"
) -> ConversationTurnReceived:
    env = Envelope(event_id, "ConversationTurnReceived", 1, Scope("app", user), T0, T0, None, None, Producer("t"))
    return ConversationTurnReceived(env, "c", "1", "user", "Alice", text)


def derive(t: ConversationTurnReceived, now: datetime) -> list:
    return extraction_events(t, extract_facts(TurnInput(t.role, t.speaker or "", t.text)), "rules", now)


def test_reprocessing_a_turn_yields_the_same_ids() -> None:
    first = derive(turn(), T0)
    again = derive(turn(), datetime(2026, 1, 2, tzinfo=UTC))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert [getattr(e, "memory_id", None) for e in first] == [getattr(e, "memory_id", None) for e in again]


def test_different_turns_yield_different_memory_ids() -> None:
    a = derive(turn(event_id="t-a"), T0)
    b = derive(turn(event_id="t-b"), T0)
    assert {e.memory_id for e in a if isinstance(e, MemoryExtracted)}.isdisjoint(
        {e.memory_id for e in b if isinstance(e, MemoryExtracted)}
    )


def test_extraction_events_carry_causation_scope_and_valid_time() -> None:
    events = derive(turn(), datetime(2026, 5, 5, tzinfo=UTC))
    extracted = [e for e in events if isinstance(e, MemoryExtracted)]
    assert len(extracted) == 2
    assert all(isinstance(e, MemoryExtracted | EntitiesLinked) for e in events)
    for e in events:
        assert e.envelope.causation_id == "turn-1"
        assert e.scope == Scope("app", "u1")
        assert e.envelope.occurred_at == T0  # valid time: when it was said
        assert e.envelope.recorded_at == datetime(2026, 5, 5, tzinfo=UTC)  # known time
    assert extracted[0].memory_id == memory_id_for("turn-1", 0)
    assert extracted[1].kind == "preference"
    assert extracted[1].importance > 0.5


def test_entity_ids_are_per_user() -> None:
    assert entity_id_for("app/u1", "Paris") == entity_id_for("app/u1", " paris ")
    assert entity_id_for("app/u1", "Paris") != entity_id_for("app/u2", "Paris")


def test_turn_event_ids_are_stable_for_a_producer_resending_a_file() -> None:
    assert turn_event_id_for("a/u", "c", "1") == turn_event_id_for("a/u", "c", "1")
    assert turn_event_id_for("a/u", "c", "1") != turn_event_id_for("a/u", "c", "2")


def test_embedding_carries_the_vector_and_activation_keeps_its_derived_id() -> None:
    extracted = next(e for e in derive(turn(), T0) if isinstance(e, MemoryExtracted))
    (embedded,) = embedding_events(extracted, [0.1, 0.2], "model-x", T0)
    activated = activation_event(extracted, T0)
    assert isinstance(embedded, MemoryEmbedded) and isinstance(activated, MemoryActivated)
    assert activated.event_id == derived_event_id(extracted.event_id, "MemoryActivated", 0)
    assert embedded.vector == pytest.approx((0.1, 0.2))
    assert embedded.model == "model-x"
    assert embedded.envelope.causation_id == extracted.event_id
    assert activated.memory_id == extracted.memory_id


@pytest.mark.parametrize(
    ("text", "user", "reason"),
    [("", "u1", "empty"), ("   ", "u1", "empty"), ("x" * 20_001, "u1", "limit"), ("hello", "", "user_id")],
)
def test_invalid_turns_are_rejected_with_a_reason(text: str, user: str, reason: str) -> None:
    with pytest.raises(InvalidEventError, match=reason):
        validate_turn(turn(text=text, user=user))
