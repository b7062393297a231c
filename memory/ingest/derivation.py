"""Pure functions from one event to the events it causes. The Faust agents only decode, call these, produce.

Ids are derived from the causing event id and position, so reprocessing a turn after a crash
produces byte-for-byte the same ids (only ``recorded_at`` differs) and projections collapse them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from memory.contract.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    Entity,
    Envelope,
    Event,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryUpdated,
    Producer,
    Relation,
)
from memory.contract.ids import derived_event_id, entity_id_for, memory_id_for
from memory.contract.validation import (
    check_id,
    check_metadata,
    check_name,
    check_optional_id,
    check_text,
    check_timestamp,
)
from memory.errors import InvalidEventError
from memory.ingest.extraction_types import ExtractedFact, TurnInput
from memory.ingest.importance import initial_importance

ROLES = frozenset({"user", "assistant", "system", "tool"})
MAX_TURN_CHARS = 20_000


def validate_turn(turn: ConversationTurnReceived, max_chars: int = MAX_TURN_CHARS) -> None:
    """Raise ``InvalidEventError`` naming the field if the turn breaks a rule of ``memory.contract.validation``.

    The API runs this on every turn it builds and extraction on every turn it reads, so a turn produced
    straight to Kafka is held to exactly what the API accepts; the PostgreSQL projection does not log a turn
    this refuses (``is_valid_turn``)."""
    scope, envelope = turn.scope, turn.envelope
    check_id(scope.app_id, "scope.app_id")
    check_id(scope.user_id, "scope.user_id")
    check_optional_id(scope.agent_id, "scope.agent_id")
    check_optional_id(scope.run_id, "scope.run_id")
    check_id(turn.conversation_id, "conversation_id")
    check_id(turn.turn_id, "turn_id")
    check_optional_id(turn.session_id, "session_id")
    if turn.role not in ROLES:
        raise InvalidEventError(f"role {turn.role!r} is not one of {sorted(ROLES)}")
    check_name(turn.speaker, "speaker")
    check_text(turn.text, "turn text", max_chars)
    check_metadata(turn.metadata)
    check_timestamp(envelope.occurred_at, "occurred_at")
    check_timestamp(envelope.recorded_at, "recorded_at")


def is_valid_turn(turn: ConversationTurnReceived, max_chars: int = MAX_TURN_CHARS) -> bool:
    try:
        validate_turn(turn, max_chars)
    except InvalidEventError:
        return False
    return True


def turn_input(turn: ConversationTurnReceived) -> TurnInput:
    return TurnInput(role=turn.role, speaker=turn.speaker or "", text=turn.text)


def _child_envelope(cause: Event, event_type: str, position: int, recorded_at: datetime, component: str) -> Envelope:
    env = cause.envelope
    return Envelope(
        event_id=derived_event_id(env.event_id, event_type, position),
        event_type=event_type,
        schema_version=1,
        scope=env.scope,
        occurred_at=env.occurred_at,
        recorded_at=recorded_at,
        causation_id=env.event_id,
        correlation_id=env.correlation_id or env.event_id,
        producer=Producer(component),
    )


def extraction_events(
    turn: ConversationTurnReceived,
    facts: Sequence[ExtractedFact],
    extractor: str,
    recorded_at: datetime,
    context: str = "",
) -> list[Event]:
    """For each fact: ``MemoryExtracted`` (with the turn before as ``context``) then ``EntitiesLinked``."""
    events: list[Event] = []
    scope_key = turn.scope.key
    metadata = {**turn.metadata, "conversation_id": turn.conversation_id, "role": turn.role}
    if turn.speaker:
        metadata["speaker"] = turn.speaker
    for position, fact in enumerate(facts):
        memory_id = memory_id_for(turn.event_id, position)
        dates = sum(1 for e in fact.entities if e.kind == "date")
        named = sum(1 for e in fact.entities if e.kind != "date") - 1  # the speaker is always there
        events.append(
            MemoryExtracted(
                envelope=_child_envelope(turn, "MemoryExtracted", position, recorded_at, "streams.extraction"),
                memory_id=memory_id,
                text=fact.text,
                kind=fact.kind,
                source_turn_ids=(turn.turn_id,),
                source_event_ids=(turn.event_id,),
                importance=initial_importance(fact.text, fact.kind, max(named, 0), dates),
                extractor=extractor,
                metadata=metadata,
                context=context,
            )
        )
        if fact.entities:
            entities = {
                entity_id_for(scope_key, e.name): Entity(entity_id_for(scope_key, e.name), e.name, e.kind)
                for e in fact.entities
            }
            relations = tuple(
                Relation(entity_id_for(scope_key, r.subject), r.predicate, entity_id_for(scope_key, r.object))
                for r in fact.relations
            )
            events.append(
                EntitiesLinked(
                    envelope=_child_envelope(turn, "EntitiesLinked", position, recorded_at, "streams.extraction"),
                    memory_id=memory_id,
                    entities=tuple(entities.values()),
                    relations=relations,
                )
            )
    return events


def embedding_text(memory: MemoryExtracted | MemoryUpdated) -> str:
    """What the model embeds: the memory, then the turn it answered. A corrected memory (MemoryUpdated) is
    the caller's own words and stands alone."""
    context = memory.context if isinstance(memory, MemoryExtracted) else ""
    return f"{memory.text} (context: {context})" if context else memory.text


def embedding_events(
    cause: MemoryExtracted | MemoryUpdated, vector: Sequence[float], model: str, recorded_at: datetime
) -> list[Event]:
    """The vector of a new (or corrected) memory. Activation is the lifecycle agent's decision: it may
    instead reinforce an existing memory the new one repeats (memory.lifecycle.on_embedding)."""
    return [
        MemoryEmbedded(
            envelope=_child_envelope(cause, "MemoryEmbedded", 0, recorded_at, "streams.embedding"),
            memory_id=cause.memory_id,
            model=model,
            vector=tuple(float(x) for x in vector),
        )
    ]


def activation_event(extracted: MemoryExtracted, recorded_at: datetime) -> MemoryActivated:
    """The activation the lifecycle agent emits for a new memory that repeats nothing (same derived id)."""
    return MemoryActivated(
        envelope=_child_envelope(extracted, "MemoryActivated", 0, recorded_at, "streams.lifecycle"),
        memory_id=extracted.memory_id,
    )
