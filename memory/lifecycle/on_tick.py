"""The decision on a tick at ``now``: finish consolidations a crash left half done, decay (Active → Decaying →
Forgotten, or rescued when pinned), then consolidate what is old enough into summaries.

Separate because it is the only decision about the whole of a user's memories rather than one event's, and
the only one that writes new memories (the summaries); it runs on the worker's timer and on a ``tick``
command alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from memory.contract.events import (
    EntitiesLinked,
    Entity,
    Envelope,
    Event,
    MemoryConsolidated,
    MemoryConsolidating,
    MemoryDecayed,
    MemoryExtracted,
    MemoryForgotten,
)
from memory.contract.ids import derived_event_id
from memory.lifecycle.consolidation import ActiveMemory, ConsolidationPlan, plan_consolidation, summary_memory_id_for
from memory.lifecycle.decay import decay_decision
from memory.lifecycle.decisions import LifecyclePolicy, envelope_for, importance_now, lifecycle_envelope
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.on_access import archive_originals
from memory.lifecycle.reevaluation import reevaluated
from memory.lifecycle.state import Tracked, UserState, estimate_tokens
from memory.lifecycle.summarize import SummaryItem, summary_budget


def on_tick(state: UserState, cause: Event, now: datetime, policy: LifecyclePolicy) -> list[Event]:
    events = _finish_consolidations(state, cause, now, policy)
    fading: set[str] = set()
    if policy.decay:
        decayed = _decay(state, cause, now)
        fading = {e.memory_id for e in decayed if isinstance(e, MemoryDecayed | MemoryForgotten)}
        events.extend(decayed)
    if policy.consolidate:
        # Originals a living summary already names are taken, whether or not their marks were folded yet.
        candidates = [
            m
            for m in state.memories.values()
            if m.memory_id not in fading and (m.reserved_for is None or m.reserved_for not in state.memories)
        ]
        events.extend(_consolidate(candidates, cause, now, policy))
    return events


def needs_another_tick(decided: Sequence[Event], policy: LifecyclePolicy) -> bool:
    """A tick that wrote as many new summaries as one step may: the backlog may go on, so the next step is due
    now rather than at the next timer tick (an hour later by default). New summaries are those with a trigger:
    a summary a crash left unwritten is made again without one (``_finish_consolidations``)."""
    new_summaries = sum(1 for e in decided if isinstance(e, MemoryConsolidated) and e.triggers)
    return policy.consolidate and new_summaries >= policy.max_summaries_per_tick


def _finish_consolidations(state: UserState, cause: Event, now: datetime, policy: LifecyclePolicy) -> list[Event]:
    """Consolidations a crash or a lost race left half done: archive under an active summary, or make the
    summary again (same members, same id) when only the Consolidating marks made it to the log."""
    events: list[Event] = _missing_marks(state, cause, now)
    waiting: dict[str, list[Tracked]] = {}
    for memory in state.memories.values():
        if memory.state == MemoryState.CONSOLIDATING.value and memory.summary_into:
            waiting.setdefault(memory.summary_into, []).append(memory)
    for summary_id, originals in sorted(waiting.items()):
        summary = state.memories.get(summary_id)
        if summary is None:
            if summary_memory_id_for(m.memory_id for m in originals) == summary_id:
                plan = _plan_for(originals, now)
                events.extend(_summary_events(plan, originals, cause, now, policy, mark_originals=False))
        elif summary.state == MemoryState.ACTIVE.value:
            events.extend(archive_originals(state, summary, cause, now))
    return events


def _missing_marks(state: UserState, cause: Event, now: datetime) -> list[Event]:
    """The Consolidating marks of originals a summary already names (``Tracked.reserved_for``) but whose marks
    are not folded yet: the ids are the first decision's, so marks that were in the log after all collapse."""
    events: list[Event] = []
    for memory in sorted(state.memories.values(), key=lambda m: m.memory_id):
        if memory.state != MemoryState.ACTIVE.value or memory.summary_into or not memory.reserved_for:
            continue
        summary = state.memories.get(memory.reserved_for)
        if summary is not None:
            events.append(_consolidating_mark(summary, memory.memory_id, cause, now))
    return events


def _consolidating_mark(summary: Tracked, original_id: str, cause: Event, now: datetime) -> MemoryConsolidating:
    event_id = derived_event_id(summary.memory_id, "MemoryConsolidating:" + original_id)
    return MemoryConsolidating(
        envelope=lifecycle_envelope(cause.scope, "MemoryConsolidating", event_id, summary.occurred_at, now, cause),
        memory_id=original_id,
        summary_memory_id=summary.memory_id,
    )


def _decay(state: UserState, cause: Event, now: datetime) -> list[Event]:
    events: list[Event] = []
    for memory in sorted(state.memories.values(), key=lambda m: m.memory_id):
        if memory.state not in (MemoryState.ACTIVE.value, MemoryState.DECAYING.value):
            continue
        if memory.superseded_by or memory.merged_into:
            continue  # kept as history: they left search already, decay would only delete the record
        importance = importance_now(memory, now)
        # Every step due at ``now`` at once (Active → Decaying → Forgotten): a second tick at the same time
        # then finds nothing left to do.
        steps: list[MemoryState] = []
        current = MemoryState(memory.state)
        while (decision := decay_decision(current, importance, memory.pinned)) is not None and decision not in steps:
            steps.append(decision)
            current = decision
        for step, decision in enumerate(steps):
            key = f"{memory.memory_id}:{memory.generation + step}"
            if decision == MemoryState.FORGOTTEN:
                events.append(
                    MemoryForgotten(
                        envelope=lifecycle_envelope(
                            cause.scope, "MemoryForgotten", derived_event_id(key, "MemoryForgotten"), now, now, cause
                        ),
                        memory_id=memory.memory_id,
                        reason="decayed",
                    )
                )
                events.extend(_forget_archive_of(state, memory, cause, now))
            else:  # Decaying, or rescued because it was pinned while Decaying
                events.append(
                    reevaluated(memory.memory_id, importance, decision, key, envelope_for(cause.scope, now, cause))
                )
    return events


def _forget_archive_of(state: UserState, summary: Tracked, cause: Event, now: datetime) -> list[Event]:
    """Archived originals live under their summary: when it fades away, they go with it."""
    events: list[Event] = []
    for original_id in summary.summary_of:
        original = state.memories.get(original_id)
        if original is None or original.state != MemoryState.ARCHIVED.value:
            continue
        events.append(
            MemoryForgotten(
                envelope=lifecycle_envelope(
                    cause.scope,
                    "MemoryForgotten",
                    derived_event_id(f"{original_id}:{original.generation}", "MemoryForgotten"),
                    now,
                    now,
                    cause,
                ),
                memory_id=original_id,
                reason="summary forgotten",
            )
        )
    return events


def _active_view(memory: Tracked) -> ActiveMemory:
    speaker_entity = next((e[0] for e in memory.entities if e[1] == memory.speaker), None)
    return ActiveMemory(
        memory_id=memory.memory_id,
        text=memory.text,
        importance=memory.importance,
        occurred_at=memory.occurred_at,
        tokens=estimate_tokens(memory.text),
        entity_ids=frozenset(e[0] for e in memory.entities),
        pinned=memory.pinned,
        conversation_id=memory.conversation_id,
        speaker_entity_id=speaker_entity,
    )


def _consolidate(memories: Sequence[Tracked], cause: Event, now: datetime, policy: LifecyclePolicy) -> list[Event]:
    # A memory recalled from an archive was consolidated once: consolidating it again would fold it into a
    # second summary beside its first. It stays active until it fades.
    active = [m for m in memories if m.state == MemoryState.ACTIVE.value and m.live and not m.summary_into]
    if len(active) < 2:
        return []
    by_id = {m.memory_id: m for m in active}
    plans = plan_consolidation([_active_view(m) for m in active], now, policy.age_threshold, policy.token_budget)
    events: list[Event] = []
    for plan in plans[: policy.max_summaries_per_tick]:
        members = [by_id[i] for i in plan.memory_ids]
        events.extend(_summary_events(plan, members, cause, now, policy, mark_originals=True))
    return events


def _plan_for(originals: Sequence[Tracked], now: datetime) -> ConsolidationPlan:
    views = [_active_view(m) for m in originals]
    return ConsolidationPlan(
        summary_memory_id=summary_memory_id_for(m.memory_id for m in originals),
        members=tuple(sorted(views, key=lambda v: (v.occurred_at, v.memory_id))),
        triggers=frozenset(),
        importance=max(v.importance for v in views),
        occurred_at=max(v.occurred_at for v in views),
        tokens=sum(v.tokens for v in views),
    )


def _summary_events(
    plan: ConsolidationPlan,
    originals: Sequence[Tracked],
    cause: Event,
    now: datetime,
    policy: LifecyclePolicy,
    mark_originals: bool,
) -> list[Event]:
    """The summary memory first, then the marks: a crash in between leaves originals Active (planned again,
    same ids) rather than Consolidating into a summary that does not exist."""
    summary_id = plan.summary_memory_id
    scope = cause.scope
    items = [SummaryItem(m.text, m.importance, m.occurred_at) for m in plan.members]
    text = policy.summarizer(items, summary_budget(items))
    members = sorted(originals, key=lambda m: (m.occurred_at, m.memory_id))
    entities: dict[str, Entity] = {}
    for member in members:
        for entity_id, name, kind in member.entities:
            entities.setdefault(entity_id, Entity(entity_id, name, kind))

    def env(event_type: str, part: str = "") -> Envelope:
        event_id = derived_event_id(summary_id, event_type + part)
        return lifecycle_envelope(scope, event_type, event_id, plan.occurred_at, now, cause)

    conversations = sorted({m.conversation_id for m in members if m.conversation_id})
    events: list[Event] = [
        MemoryExtracted(
            envelope=env("MemoryExtracted"),
            memory_id=summary_id,
            text=text,
            kind="summary",
            source_turn_ids=tuple(t for m in members for t in m.source_turn_ids),
            source_event_ids=tuple(e for m in members for e in m.source_event_ids),
            importance=plan.importance,
            extractor=f"consolidation:{policy.summarizer_name}",
            metadata={"consolidates": str(len(members)), "conversation_id": ",".join(conversations)},
        ),
        MemoryConsolidated(
            envelope=env("MemoryConsolidated"),
            memory_id=summary_id,
            original_ids=tuple(m.memory_id for m in members),
            summarizer=policy.summarizer_name,
            triggers=tuple(sorted(t.value for t in plan.triggers)),
        ),
    ]
    if entities:
        events.insert(
            1, EntitiesLinked(envelope=env("EntitiesLinked"), memory_id=summary_id, entities=tuple(entities.values()))
        )
    if mark_originals:
        events.extend(
            MemoryConsolidating(
                envelope=env("MemoryConsolidating", ":" + m.memory_id),
                memory_id=m.memory_id,
                summary_memory_id=summary_id,
            )
            for m in members
        )
    return events
