"""A user's memories as the lifecycle agent sees them: a fold of the memory log, kept in a Faust table.

The state changes only by folding events from the log (never optimistically by a decision), so a decision
that crashed before its events were produced is simply taken again, and a decision taken twice produces
events with the same derived ids, which every consumer collapses. Pure: no I/O, no clock.

Per memory it keeps what decisions need and nothing more (no vectors: similarity comes from the dense index
and the recent-vector cache of the agent): state, text and claim slots, importance and its inputs, entities,
consolidation links, and the ids of the last events applied (to recognise a redelivered event).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from memory.blocks.state import BlockKey, StoredBlock, fold_block
from memory.contract.events import (
    CoreBlockChanged,
    CoreBlockEditRefused,
    EntitiesLinked,
    Event,
    MemoryAccessed,
    MemoryConsolidated,
    MemoryConsolidating,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryForgotten,
    MemoryPinned,
    MemoryReinforced,
    MemorySuperseded,
    MemoryUpdated,
    UserErased,
)
from memory.errors import InvalidEventError
from memory.language.sentences import split_speaker
from memory.lifecycle.contradiction import extract_claims
from memory.lifecycle.dedupe import normalise
from memory.lifecycle.machine import LIVE, MemoryState, check_transition
from memory.lifecycle.transitions import moves, target_state

RECENT_EVENT_IDS = 12  # enough to recognise a redelivered batch; older ids are past the checkpoint anyway
LIVE_STATES = frozenset(s.value for s in LIVE)


def estimate_tokens(text: str) -> int:
    """A cheap token estimate for budgets (about 4/3 tokens per English word); the exact count is the
    context endpoint's business, consolidation only needs the order of magnitude."""
    return max(1, round(len(text.split()) * 4 / 3))


@dataclass
class Tracked:
    memory_id: str
    text: str
    kind: str
    state: str
    importance: float  # the base importance decay works from (creation score, raised by reinforcement)
    created_at: datetime  # when the system learned it (recorded time): decay counts from here or last access
    occurred_at: datetime  # valid time
    extracted_event_id: str
    conversation_id: str = ""
    speaker: str = ""
    access_count: int = 0
    last_access: datetime | None = None
    pinned: bool = False
    superseded_by: str | None = None
    merged_into: str | None = None  # a duplicate that reinforced another memory instead of activating
    entities: list[list[str]] = field(default_factory=list)  # [entity_id, name, kind]
    claim_slots: list[str] = field(default_factory=list)
    norm: str = ""  # normalised text without the speaker (memory.lifecycle.dedupe): exact repeats without a vector
    summary_of: list[str] = field(default_factory=list)  # a summary: the originals it stands for
    summary_into: str | None = None  # an original: the summary it is being consolidated into
    # An original named by a summary's MemoryConsolidated, before its own MemoryConsolidating mark is folded. A
    # decision's events reach the log in order but are folded back one batch at a time, and a worker killed in
    # between restarts on a state holding only a prefix of them: the summary exists, some marks do not. Without
    # this, the next tick would group the unmarked originals again into a second summary.
    reserved_for: str | None = None
    source_turn_ids: list[str] = field(default_factory=list)
    source_event_ids: list[str] = field(default_factory=list)
    generation: int = 0  # state changes so far: part of derived ids, so each transition has its own
    recent_events: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        """Live for the lifecycle's decisions (``machine.LIVE``): not superseded, merged or being consolidated."""
        return self.state in LIVE_STATES and self.superseded_by is None and self.merged_into is None

    @property
    def speaker_name(self) -> str | None:
        return self.speaker or split_speaker(self.text)[0]

    def remember(self, event_id: str) -> None:
        self.recent_events = [*self.recent_events[-(RECENT_EVENT_IDS - 1) :], event_id]


def tracked_to_json(tracked: Tracked) -> bytes:
    return json.dumps(asdict(tracked), default=_iso).encode()


def tracked_from_json(raw: bytes) -> Tracked:
    values: dict[str, Any] = json.loads(raw)
    for key in ("created_at", "occurred_at", "last_access"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    return Tracked(**values)


@dataclass
class UserState:
    memories: dict[str, Tracked] = field(default_factory=dict)
    # The user's core memory blocks (memory.blocks), one per (agent_id or "", label).
    blocks: dict[BlockKey, StoredBlock] = field(default_factory=dict)
    # What changed since the store last saved this state (the agent keeps one table entry per memory, so a
    # user with thousands of memories never writes them all for one new event).
    dirty: set[str] = field(default_factory=set, compare=False, repr=False)
    removed: set[str] = field(default_factory=set, compare=False, repr=False)
    dirty_blocks: set[BlockKey] = field(default_factory=set, compare=False, repr=False)
    removed_blocks: set[BlockKey] = field(default_factory=set, compare=False, repr=False)

    def touch(self, memory_id: str) -> None:
        self.dirty.add(memory_id)
        self.removed.discard(memory_id)

    def drop(self, memory_id: str) -> None:
        self.memories.pop(memory_id, None)
        self.dirty.discard(memory_id)
        self.removed.add(memory_id)

    def to_json(self) -> bytes:
        return json.dumps({k: asdict(v) for k, v in self.memories.items()}, default=_iso).encode()

    @classmethod
    def from_json(cls, raw: bytes | None) -> UserState:
        if not raw:
            return cls()
        data: dict[str, dict[str, Any]] = json.loads(raw)
        return cls({k: tracked_from_json(json.dumps(v).encode()) for k, v in data.items()})


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


class IllegalLifecycleEvent(InvalidEventError):
    """An event asks for a transition the lifecycle does not allow: dead-letter it with this reason."""


def fold(state: UserState, event: Event) -> bool:
    """Apply one memory event to the user's state. Returns False when the event was already applied.

    Raises ``IllegalLifecycleEvent`` for a transition the table forbids (the caller dead-letters it)."""
    if isinstance(event, UserErased):
        for erased in list(state.memories):
            state.drop(erased)
        state.removed_blocks.update(state.blocks)
        state.dirty_blocks.clear()
        state.blocks.clear()
        return True
    if isinstance(event, CoreBlockChanged | CoreBlockEditRefused):
        changed = fold_block(state.blocks, event)
        if changed is None:
            return False
        state.dirty_blocks.add(changed)
        state.removed_blocks.discard(changed)
        return True
    if isinstance(event, MemoryExtracted):
        if event.memory_id in state.memories:
            return False
        state.memories[event.memory_id] = _tracked(event)
        state.touch(event.memory_id)
        return True
    memory_id = getattr(event, "memory_id", None)
    tracked = state.memories.get(memory_id) if memory_id else None
    if tracked is None:
        return False  # forgotten, erased, or never extracted here: nothing to change
    if event.event_id in tracked.recent_events:
        return False
    if isinstance(event, MemoryForgotten):
        state.drop(tracked.memory_id)  # a delete request is allowed from any state
        return True
    target = target_state(event)
    if target is not None and target.value == tracked.state:
        target = None  # already there (a second access rescuing the same memory): nothing to check
    if isinstance(event, MemoryEmbedded) and tracked.state != MemoryState.EXTRACTED.value:
        target = None  # a new vector for a memory already stored (after an update): no state change
    if target is not None:
        try:
            check_transition(MemoryState(tracked.state), target)
        except InvalidEventError as exc:
            # Checked before anything is applied: a rejected (dead-lettered) event leaves no trace.
            raise IllegalLifecycleEvent(f"{type(event).__name__} for memory {tracked.memory_id}: {exc}") from exc
        if not moves(event, MemoryState(tracked.state), target):
            raise IllegalLifecycleEvent(
                f"{type(event).__name__} for memory {tracked.memory_id}: a rescue brings back a decaying memory,"
                f" and this one is {tracked.state}"
            )
    tracked.remember(event.event_id)
    state.touch(tracked.memory_id)
    _apply_fields(state, tracked, event)
    if target is not None:
        tracked.state = target.value
        tracked.generation += 1
    return True


def _tracked(event: MemoryExtracted) -> Tracked:
    env = event.envelope
    return Tracked(
        memory_id=event.memory_id,
        text=event.text,
        kind=event.kind,
        state=MemoryState.EXTRACTED.value,
        importance=event.importance,
        created_at=env.recorded_at,
        occurred_at=env.occurred_at,
        extracted_event_id=event.event_id,
        conversation_id=event.metadata.get("conversation_id", ""),
        speaker=event.metadata.get("speaker", ""),
        claim_slots=sorted({c.slot for c in extract_claims(event.text)}),
        norm=normalise(event.text),
        source_turn_ids=list(event.source_turn_ids),
        source_event_ids=list(event.source_event_ids),
        recent_events=[event.event_id],
    )


def _apply_fields(state: UserState, tracked: Tracked, event: Event) -> None:
    """Everything an event changes besides the lifecycle state."""
    if isinstance(event, EntitiesLinked):
        tracked.entities = [[e.entity_id, e.name, e.kind] for e in event.entities]
    elif isinstance(event, MemoryAccessed):
        tracked.access_count += 1
        at = event.envelope.occurred_at
        tracked.last_access = at if tracked.last_access is None else max(tracked.last_access, at)
    elif isinstance(event, MemoryReinforced):
        tracked.importance = event.importance
        duplicate = state.memories.get(event.duplicate_memory_id)
        if duplicate is not None:
            duplicate.merged_into = tracked.memory_id
            state.touch(duplicate.memory_id)
    elif isinstance(event, MemorySuperseded):
        tracked.superseded_by = event.superseded_by
    elif isinstance(event, MemoryConsolidated):
        tracked.summary_of = list(event.original_ids)
        for original_id in event.original_ids:
            original = state.memories.get(original_id)
            if original is not None and original.reserved_for is None:
                original.reserved_for = tracked.memory_id
                state.touch(original_id)
    elif isinstance(event, MemoryConsolidating):
        tracked.summary_into = event.summary_memory_id
    elif isinstance(event, MemoryUpdated):
        tracked.text = event.text
        tracked.claim_slots = sorted({c.slot for c in extract_claims(event.text)})
        tracked.norm = normalise(event.text)
    elif isinstance(event, MemoryPinned):
        tracked.pinned = event.pinned
