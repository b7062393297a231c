"""Event classes mirrored from ``schemas/avro``. The schemas are the contract; these are their Python view.

Events are immutable past-tense facts. Field names and order match the Avro records one to one, so the
codec converts between the two generically (see ``memory.contract.records``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

PRODUCER_VERSION = "0.1.0"


@dataclass(frozen=True)
class Scope:
    app_id: str
    user_id: str
    agent_id: str | None = None
    run_id: str | None = None

    @property
    def key(self) -> str:
        """The Kafka key: every event of one user lands in one partition, in order."""
        return f"{self.app_id}/{self.user_id}"


@dataclass(frozen=True)
class Producer:
    component: str
    version: str = PRODUCER_VERSION


@dataclass(frozen=True)
class Envelope:
    event_id: str
    event_type: str
    schema_version: int
    scope: Scope
    occurred_at: datetime
    recorded_at: datetime
    causation_id: str | None
    correlation_id: str | None
    producer: Producer


@dataclass(frozen=True)
class Event:
    """Base of every enveloped event. ``SCHEMA_NAME`` is the Avro full name."""

    SCHEMA_NAME: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    envelope: Envelope

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def scope(self) -> Scope:
        return self.envelope.scope


@dataclass(frozen=True)
class ConversationTurnReceived(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.ConversationTurnReceived"

    conversation_id: str = ""
    turn_id: str = ""
    role: str = "user"
    speaker: str | None = None
    text: str = ""
    infer: bool = True
    metadata: dict[str, str] = field(default_factory=dict)
    # The producer's session of the conversation (memory.sessions); None: inferred from the gaps in occurred_at.
    session_id: str | None = None


@dataclass(frozen=True)
class MemoryExtracted(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryExtracted"

    memory_id: str = ""
    text: str = ""
    kind: str = "fact"
    source_turn_ids: tuple[str, ...] = ()
    source_event_ids: tuple[str, ...] = ()
    importance: float = 0.5
    extractor: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    context: str = ""  # the conversation's previous turn (memory.ingest.conversation_context)


@dataclass(frozen=True)
class MemoryEmbedded(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryEmbedded"

    memory_id: str = ""
    model: str = ""
    vector: tuple[float, ...] = ()


@dataclass(frozen=True)
class MemoryActivated(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryActivated"

    memory_id: str = ""


@dataclass(frozen=True)
class MemoryAccessed(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryAccessed"

    memory_id: str = ""
    rank: int = 0
    retrievers: tuple[str, ...] = ()
    request_id: str = ""
    # The memory's state as the search read it. Only a hit that saw it archived (a search of the archive) recalls
    # it; one that saw it consolidating, then reached the lifecycle after the archive, must not undo the
    # consolidation. None: written before the field existed, when only archive searches could reach an archived one.
    seen_state: str | None = None


@dataclass(frozen=True)
class MemoryReinforced(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryReinforced"

    memory_id: str = ""
    duplicate_memory_id: str = ""
    similarity: float = 1.0
    importance: float = 0.5


@dataclass(frozen=True)
class MemorySuperseded(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemorySuperseded"

    memory_id: str = ""
    superseded_by: str = ""
    slot: str = ""
    reason: str = ""


@dataclass(frozen=True)
class MemoryConsolidating(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryConsolidating"

    memory_id: str = ""
    summary_memory_id: str = ""


@dataclass(frozen=True)
class MemoryConsolidated(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryConsolidated"

    memory_id: str = ""  # the summary
    original_ids: tuple[str, ...] = ()
    summarizer: str = ""
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemoryArchived(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryArchived"

    memory_id: str = ""
    summary_memory_id: str = ""


@dataclass(frozen=True)
class MemoryRecalled(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryRecalled"

    memory_id: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class MemoryDecayed(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryDecayed"

    memory_id: str = ""
    importance: float = 0.0
    # "decaying"; None: importance only. "active" appears only in logs written before MemoryRescued existed,
    # and is read as a rescue (memory.lifecycle.transitions), so those logs replay to the same states.
    state: str | None = None


@dataclass(frozen=True)
class MemoryRescued(Event):
    """A Decaying memory back to Active: found again by a search (``request_id``) or pinned (None)."""

    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryRescued"

    memory_id: str = ""
    importance: float = 0.0
    request_id: str | None = None


@dataclass(frozen=True)
class MemoryForgotten(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryForgotten"

    memory_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class MemoryUpdated(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryUpdated"

    memory_id: str = ""
    text: str = ""


@dataclass(frozen=True)
class MemoryPinned(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryPinned"

    memory_id: str = ""
    pinned: bool = True


@dataclass(frozen=True)
class UserErased(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.UserErased"

    reason: str = ""


@dataclass(frozen=True)
class MemoryCommandIssued(Event):
    """An intent on the commands topic; a ``tick`` evaluates decay and consolidation as of ``occurred_at``."""

    SCHEMA_NAME: ClassVar[str] = "memstream.MemoryCommandIssued"

    command: str = ""
    memory_id: str | None = None
    text: str | None = None  # update: the new text; block_create: the value; block_append: the content
    # Core memory block commands (block_create|block_append|block_replace|block_delete); the block's agent is
    # the scope's agent_id. Added in version 2 with defaults, so version 1 commands still decode.
    label: str | None = None
    old_text: str | None = None
    new_text: str | None = None
    limit: int | None = None


def new_command(
    scope: Scope,
    command: str,
    at: datetime,
    component: str,
    memory_id: str | None = None,
    text: str | None = None,
    correlation_id: str | None = None,
    *,
    label: str | None = None,
    old_text: str | None = None,
    new_text: str | None = None,
    limit: int | None = None,
) -> MemoryCommandIssued:
    """A command that starts a chain (an API request, a timer tick): a fresh id, nothing caused it, both times
    ``at``. What the lifecycle agent decides from it derives its own ids, so the fresh id costs no idempotence."""
    event_id = str(uuid.uuid4())
    return MemoryCommandIssued(
        envelope=Envelope(
            event_id, "MemoryCommandIssued", 1, scope, at, at, None, correlation_id or event_id, Producer(component)
        ),
        command=command,
        memory_id=memory_id,
        text=text,
        label=label,
        old_text=old_text,
        new_text=new_text,
        limit=limit,
    )


@dataclass(frozen=True)
class CoreBlockChanged(Event):
    """A core memory block after an edit; ``value`` is the whole block after it (empty after a delete)."""

    SCHEMA_NAME: ClassVar[str] = "memstream.CoreBlockChanged"

    label: str = ""
    change: str = ""  # created | appended | replaced | deleted
    value: str = ""
    limit: int = 0
    version: int = 0


@dataclass(frozen=True)
class CoreBlockEditRefused(Event):
    """A block command that could not apply to the block as it was (a race the API's precheck lost)."""

    SCHEMA_NAME: ClassVar[str] = "memstream.CoreBlockEditRefused"

    label: str = ""
    command: str = ""
    command_event_id: str = ""
    reason: str = ""
    version: int = 0


@dataclass(frozen=True)
class Entity:
    entity_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Relation:
    subject_id: str
    predicate: str
    object_id: str


@dataclass(frozen=True)
class EntitiesLinked(Event):
    SCHEMA_NAME: ClassVar[str] = "memstream.EntitiesLinked"

    memory_id: str = ""
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()


@dataclass(frozen=True)
class DeadLetter:
    """Not an enveloped event: where a failed message is in the log, why it failed, and a bounded prefix of it.

    ``payload_size`` and ``key_size`` are None in version 1 records, which carried the message whole."""

    SCHEMA_NAME: ClassVar[str] = "memstream.DeadLetter"

    dead_letter_id: str
    reason: str
    error_type: str
    component: str
    origin_topic: str
    origin_partition: int
    origin_offset: int
    origin_key: bytes | None
    payload: bytes
    failed_at: datetime
    payload_size: int | None = None
    key_size: int | None = None

    @property
    def original_size(self) -> int:
        return len(self.payload) if self.payload_size is None else self.payload_size

    @property
    def holds_whole_message(self) -> bool:
        """True when payload and key are the original bytes, not prefixes of them."""
        whole_payload = self.payload_size is None or self.payload_size == len(self.payload)
        whole_key = self.key_size is None or self.key_size == len(self.origin_key or b"")
        return whole_payload and whole_key


MEMORY_EVENT_TYPES: tuple[type[Event], ...] = (
    MemoryExtracted,
    MemoryEmbedded,
    MemoryActivated,
    EntitiesLinked,
    MemoryAccessed,
    MemoryReinforced,
    MemorySuperseded,
    MemoryConsolidating,
    MemoryConsolidated,
    MemoryArchived,
    MemoryRecalled,
    MemoryDecayed,
    MemoryRescued,
    MemoryForgotten,
    MemoryUpdated,
    MemoryPinned,
    UserErased,
    CoreBlockChanged,
    CoreBlockEditRefused,
)
COMMAND_TYPES: tuple[type[Event], ...] = (MemoryCommandIssued,)
ALL_RECORD_TYPES: tuple[type, ...] = (ConversationTurnReceived, *MEMORY_EVENT_TYPES, *COMMAND_TYPES, DeadLetter)
