"""Folding a batch of memory events into the rows PostgreSQL should hold. Pure: no I/O, no database driver.

The rows are the named records of ``rows.py``; the projector adapts their values to psycopg and writes them.

The projector reads what a batch touches into a ``Plan`` (which events were applied, the memories and
tombstones it names, its users' erasures), folds every event into it in log order, then writes the plan's
rows. The fold gives exactly what applying the events one at a time would give: the lifecycle guard, the
duplicate checks and the tombstones are all consulted against the plan, which already holds the effect of
the earlier events.

Rules where the event alone does not say:
- A memory the projection does not hold (its ``MemoryExtracted`` was never applied) is not changed, but the
  event still gets its version row: the event counts as applied, so re-delivering it after the memory
  arrives cannot apply it late. That row carries no after-values (``extracted``, empty text, NULL
  importance and pinned): the lifecycle's first state is never searchable, so it never widens an as-of query.
- A tombstoned memory is never written again: every later event naming it (a redelivered
  ``MemoryExtracted`` included) is ignored, and no lineage row may point at it.
- ``updated_at`` moves with the state and the text only; importance, pinning and validity change it not
  (decay re-scores every memory on every tick, which would make ``updated_at`` meaningless).
- A memory superseded twice keeps the earliest end of validity: it stopped being true when first contradicted.
- After a user's erasure, an event of that user the system knew (``recorded_at``) no later than the erasure
  is ignored, whatever it is: a turn consumed late from the turns topic (no order holds across topics), a
  producer's retry, a redelivery. A user who comes back is recorded later, and applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from memory.contract.events import (
    ConversationTurnReceived,
    EntitiesLinked,
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryArchived,
    MemoryConsolidated,
    MemoryConsolidating,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryForgotten,
    MemoryPinned,
    MemoryRecalled,
    MemoryReinforced,
    MemoryRescued,
    MemorySuperseded,
    MemoryUpdated,
    UserErased,
)
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.transitions import moves, target_state
from projections.base import PoisonEventError, Positioned
from projections.postgres.block_fold import BLOCK_EVENTS, BlockPlan, fold_block
from projections.postgres.rows import (
    AccessRow,
    LineageRow,
    MemoryRow,
    TombstoneRow,
    TurnRow,
    VersionRow,
    access_row,
    turn_row,
)

# Events that change one memory and leave a version row (MemoryForgotten removes the versions instead).
VERSIONED: tuple[type[Event], ...] = (
    MemoryExtracted,
    MemoryEmbedded,
    MemoryActivated,
    MemoryReinforced,
    MemorySuperseded,
    MemoryConsolidating,
    MemoryConsolidated,
    MemoryArchived,
    MemoryRecalled,
    MemoryDecayed,
    MemoryRescued,
    MemoryUpdated,
    MemoryPinned,
)


@dataclass
class Memory:
    """A memory as the batch leaves it. ``created`` is set when this batch created it (it is inserted)."""

    app_id: str
    user_id: str
    text: str
    state: MemoryState
    embedding_model: str | None
    importance: float
    pinned: bool
    valid_to: datetime | None
    updated_at: datetime | None = None  # None: unchanged since before the batch
    created: MemoryExtracted | None = None
    log_offset: int | None = None  # where ``created`` sits in the log (memories.log_offset)
    changed: bool = False
    text_changed: bool = False

    @classmethod
    def extracted(cls, event: MemoryExtracted, log_offset: int) -> Memory:
        scope = event.scope
        return cls(
            scope.app_id,
            scope.user_id,
            event.text,
            MemoryState.EXTRACTED,
            None,
            event.importance,
            False,
            None,
            event.envelope.recorded_at,
            created=event,
            log_offset=log_offset,
        )


@dataclass
class Plan:
    """What a batch reads before it decides, and the rows it decides to write."""

    applied_events: set[str] = field(default_factory=set)
    logged_turns: set[str] = field(default_factory=set)
    applied_accesses: set[str] = field(default_factory=set)
    tombstoned: set[str] = field(default_factory=set)
    memories: dict[str, Memory] = field(default_factory=dict)
    turns: list[TurnRow] = field(default_factory=list)
    versions: list[VersionRow] = field(default_factory=list)
    accesses: list[AccessRow] = field(default_factory=list)
    lineage: dict[tuple[str, str, str], LineageRow] = field(default_factory=dict)  # first writer of a link wins
    forgotten: dict[str, TombstoneRow] = field(default_factory=dict)  # memory id → its tombstone
    erased: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (app, user) → last erasure's known_at
    blocks: BlockPlan = field(default_factory=BlockPlan)  # core memory blocks (projections.postgres.block_fold)

    def created_rows(self) -> list[MemoryRow]:
        return [memory_row(m.created, m) for m in self.memories.values() if m.created is not None]

    def updated(self) -> list[tuple[str, Memory]]:
        return [(i, m) for i, m in self.memories.items() if m.created is None and m.changed]


@dataclass
class Touched:
    """The keys a batch must look up before it can decide anything."""

    versions: list[str] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    accesses: list[str] = field(default_factory=list)
    memories: set[str] = field(default_factory=set)
    referenced: set[str] = field(default_factory=set)  # every memory id named (tombstones to check)
    scopes: set[tuple[str, str]] = field(default_factory=set)  # (app, user) of every event (erasures to check)
    blocks: bool = False  # block events need nothing looked up but their users' erasures

    def __bool__(self) -> bool:
        return bool(self.versions or self.turns or self.accesses or self.referenced or self.blocks)


def segments(items: Sequence[Positioned]) -> list[tuple[list[Positioned], UserErased | None]]:
    """The batch cut after each ``UserErased``: the events before it, then the erasure itself.

    An erasure deletes by user, not by key, so it cannot be folded in memory; the segments are applied in
    order, each with its own read, so the events after an erasure see the user's rows already gone."""
    out: list[tuple[list[Positioned], UserErased | None]] = []
    current: list[Positioned] = []
    for item in items:
        if isinstance(item.event, UserErased):
            out.append((current, item.event))
            current = []
        else:
            current.append(item)
    if current:
        out.append((current, None))
    return out


def touched(items: Iterable[Positioned]) -> Touched:
    keys = Touched()
    for item in items:
        event = item.event
        if isinstance(event, Event):
            keys.scopes.add((event.scope.app_id, event.scope.user_id))
        if isinstance(event, ConversationTurnReceived):
            keys.turns.append(event.event_id)
        elif isinstance(event, BLOCK_EVENTS):
            keys.blocks = True
        elif isinstance(event, MemoryAccessed):
            keys.accesses.append(event.event_id)
            keys.referenced.add(event.memory_id)
        elif isinstance(event, MemoryForgotten):
            keys.memories.add(event.memory_id)
            keys.referenced.add(event.memory_id)
        elif isinstance(event, VERSIONED):
            memory_id: str = event.memory_id  # type: ignore[attr-defined]
            keys.versions.append(event.event_id)
            keys.memories.add(memory_id)
            keys.referenced.add(memory_id)
            for _, source, target in _links(event):
                keys.referenced.update((source, target))
    return keys


def fold(plan: Plan, item: Positioned) -> None:
    """Fold one event into the plan, exactly as applying it alone after the ones before it would."""
    event = item.event
    if isinstance(event, Event) and _known_before_erasure(plan, event):
        return
    if isinstance(event, ConversationTurnReceived):
        if event.event_id not in plan.logged_turns:
            plan.logged_turns.add(event.event_id)
            plan.turns.append(turn_row(event))
    elif isinstance(event, MemoryAccessed):
        # Not a version: an access changes no text and no state, and searches would flood the history.
        if event.event_id not in plan.applied_accesses and event.memory_id not in plan.tombstoned:
            plan.applied_accesses.add(event.event_id)
            plan.accesses.append(access_row(event))
    elif isinstance(event, MemoryForgotten):
        _forget(plan, event)
    elif isinstance(event, BLOCK_EVENTS):
        fold_block(plan.blocks, item)
    elif isinstance(event, VERSIONED):
        _change(plan, item)
    elif isinstance(event, EntitiesLinked):
        pass  # entities live in Neo4j; PostgreSQL keeps memories and their history
    elif isinstance(event, UserErased):
        raise AssertionError("a UserErased must be applied between segments, never folded")


def _known_before_erasure(plan: Plan, event: Event) -> bool:
    erased = plan.erased.get((event.scope.app_id, event.scope.user_id))
    return erased is not None and event.envelope.recorded_at <= erased


def _change(plan: Plan, item: Positioned) -> None:
    event = item.event
    memory_id: str = event.memory_id
    if memory_id in plan.tombstoned or event.event_id in plan.applied_events:
        return
    plan.applied_events.add(event.event_id)
    memory = plan.memories.get(memory_id)
    if isinstance(event, MemoryExtracted):
        if memory is None:
            memory = plan.memories[memory_id] = Memory.extracted(event, item.position.offset)
    else:
        if memory is not None:
            _effect(memory, event)
        for relation, source, target in _links(event):
            _link(plan, event, relation, source, target)
    plan.versions.append(version_row(item, memory))


def _effect(memory: Memory, event: Event) -> None:
    """What the event does to a memory the projection holds (MemoryExtracted creates, never changes)."""
    if isinstance(event, MemoryEmbedded):
        memory.embedding_model = event.model
        memory.changed = True
    elif isinstance(event, MemoryReinforced | MemoryDecayed | MemoryRescued):
        memory.importance = event.importance
        memory.changed = True
    elif isinstance(event, MemorySuperseded):
        ends = event.envelope.occurred_at
        if memory.valid_to is None or ends < memory.valid_to:
            memory.valid_to = ends
            memory.changed = True
    elif isinstance(event, MemoryUpdated):
        if event.text != memory.text:
            memory.text = event.text
            memory.text_changed = True
        memory.updated_at = event.envelope.recorded_at
        memory.changed = True
    elif isinstance(event, MemoryPinned):
        memory.pinned = event.pinned
        memory.changed = True
    try:
        target = target_state(event)
    except ValueError as exc:  # MemoryDecayed.state is a free string in the schema
        raise PoisonEventError(f"{event.envelope.event_type} {event.event_id}: {exc}") from exc
    # The guard: a repeated, stale or illegal request (e.g. archiving an active memory) changes nothing.
    if target is not None and moves(event, memory.state, target):
        memory.state = target
        memory.updated_at = event.envelope.recorded_at
        memory.changed = True


def _links(event: Event) -> list[tuple[str, str, str]]:
    """(relation, from, to) lineage links the event states."""
    if isinstance(event, MemoryReinforced):
        return [("reinforces", event.duplicate_memory_id, event.memory_id)]
    if isinstance(event, MemorySuperseded):
        return [("supersedes", event.superseded_by, event.memory_id)]
    if isinstance(event, MemoryConsolidated):
        return [("summarizes", event.memory_id, original) for original in event.original_ids]
    return []


def _link(plan: Plan, event: Event, relation: str, source: str, target: str) -> None:
    # A link is a fact of the log even when a side is not held (yet); but never to a forgotten memory.
    if not source or not target or source in plan.tombstoned or target in plan.tombstoned:
        return
    key = (relation, source, target)
    if key not in plan.lineage:
        env = event.envelope
        plan.lineage[key] = LineageRow(
            event_id=env.event_id,
            relation=relation,
            from_memory_id=source,
            to_memory_id=target,
            occurred_at=env.occurred_at,
            known_at=env.recorded_at,
        )


def _forget(plan: Plan, event: MemoryForgotten) -> None:
    """From any state: deleting is the user's right, not a lifecycle step. The rows this batch already
    planned for the memory are written and then removed with those it had before the batch."""
    memory_id = event.memory_id
    if memory_id in plan.tombstoned:
        return
    plan.tombstoned.add(memory_id)
    memory = plan.memories.pop(memory_id, None)
    scope = event.scope
    app_id, user_id = (memory.app_id, memory.user_id) if memory is not None else (scope.app_id, scope.user_id)
    # occurred_at, not recorded_at: a re-derived copy of the event differs only in recorded_at.
    plan.forgotten[memory_id] = TombstoneRow(
        memory_id=memory_id,
        app_id=app_id,
        user_id=user_id,
        forgotten_at=event.envelope.occurred_at,
        reason=event.reason,
    )


def version_row(item: Positioned, memory: Memory | None) -> VersionRow:
    """The history row: the memory as the event leaves it (placeholders if the projection does not hold it)."""
    env = item.event.envelope
    pos = item.position
    if memory is None:
        state, text, importance, pinned, valid_to = MemoryState.EXTRACTED.value, "", None, None, None
    else:
        state, text = memory.state.value, memory.text
        importance, pinned, valid_to = memory.importance, memory.pinned, memory.valid_to
    return VersionRow(
        event_id=env.event_id,
        memory_id=item.event.memory_id,
        event_type=env.event_type,
        state=state,
        text=text,
        importance=importance,
        pinned=pinned,
        valid_from=env.occurred_at,
        valid_to=valid_to,
        known_at=env.recorded_at,
        causation_id=env.causation_id,
        log_topic=pos.topic,
        log_partition=pos.partition,
        log_offset=pos.offset,
    )


def memory_row(event: MemoryExtracted, memory: Memory) -> MemoryRow:
    """A memory created by this batch: fixed columns from its MemoryExtracted, the rest as the batch left it."""
    scope, env = event.scope, event.envelope
    return MemoryRow(
        memory_id=event.memory_id,
        app_id=scope.app_id,
        user_id=scope.user_id,
        agent_id=scope.agent_id,
        run_id=scope.run_id,
        text=memory.text,
        kind=event.kind,
        state=memory.state.value,
        importance=memory.importance,
        pinned=memory.pinned,
        metadata=event.metadata,
        source_turn_ids=list(event.source_turn_ids),
        source_event_ids=list(event.source_event_ids),
        extractor=event.extractor,
        embedding_model=memory.embedding_model,
        valid_from=env.occurred_at,
        valid_to=memory.valid_to,
        known_from=env.recorded_at,
        updated_at=memory.updated_at,
        log_offset=memory.log_offset,
    )
