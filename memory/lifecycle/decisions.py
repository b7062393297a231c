"""What the lifecycle agent decides, as pure functions from a user's state (a fold of the log) to events.

- After a memory is embedded: reinforce an existing memory it repeats (the copy never activates), supersede
  memories it contradicts, then activate it. Summaries activate directly.
- After an access: a Decaying memory is re-evaluated (the access resets its clock, so it is rescued back to
  Active: ``MemoryRescued``); an Archived one is recalled (Archived → Recalled → Active).
- After a summary activates: its originals are archived.
- On a tick at ``now``: finish consolidations a crash left half done, decay (Active → Decaying → Forgotten,
  or rescued when pinned; ``memory.lifecycle.reevaluation``), consolidate (memory.lifecycle.consolidation
  picks the groups).
- On a command: update, pin/unpin, delete, erase the user, tick.

Every event id derives from what the decision is about (memory ids, the memory's generation, the summary
id, the causing access or command), never from a clock or a random number: the same decision taken twice —
a timer that fires twice, a batch replayed after a crash — produces the same events, which collapse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.contract.events import (
    EntitiesLinked,
    Entity,
    Envelope,
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryArchived,
    MemoryCommandIssued,
    MemoryConsolidated,
    MemoryConsolidating,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryForgotten,
    MemoryPinned,
    MemoryRecalled,
    MemoryReinforced,
    MemorySuperseded,
    MemoryUpdated,
    Producer,
    Scope,
    UserErased,
)
from memory.contract.ids import derived_event_id
from memory.errors import InvalidEventError
from memory.lifecycle.consolidation import ActiveMemory, ConsolidationPlan, plan_consolidation, summary_memory_id_for
from memory.lifecycle.contradiction import detect_contradiction
from memory.lifecycle.decay import current_importance, decay_decision
from memory.lifecycle.dedupe import DEFAULT_SIMILARITY_THRESHOLD, is_duplicate_at, same_speaker
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.reevaluation import EnvelopeFor, reevaluated
from memory.lifecycle.state import Tracked, UserState, estimate_tokens
from memory.lifecycle.summarize import DEFAULT_MAX_CHARS, SummaryItem, summarize

COMPONENT = "streams.lifecycle"
SUMMARIZER = "extractive-v1"
REINFORCE_BONUS = 0.05  # a repeated fact matters a little more each time it is said
COMMANDS = frozenset({"update", "pin", "unpin", "delete", "erase_user", "tick"})


@dataclass(frozen=True)
class LifecyclePolicy:
    age_threshold: timedelta = timedelta(days=30)
    token_budget: int = 8_000
    dedupe_threshold: float = DEFAULT_SIMILARITY_THRESHOLD
    consolidate: bool = True
    decay: bool = True
    # Writes a consolidation summary: the offline extractive one, or an LLM's (models/llm_summarizer.py).
    summarizer: Callable[[Sequence[SummaryItem], int], str] = summarize
    summarizer_name: str = SUMMARIZER


def _envelope(
    scope: Scope, event_type: str, event_id: str, occurred_at: datetime, recorded_at: datetime, cause: Event
) -> Envelope:
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        schema_version=1,
        scope=scope,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        causation_id=cause.event_id,
        correlation_id=cause.envelope.correlation_id or cause.event_id,
        producer=Producer(COMPONENT),
    )


def _envelope_for(scope: Scope, at: datetime, cause: Event) -> EnvelopeFor:
    return lambda event_type, event_id: _envelope(scope, event_type, event_id, at, at, cause)


# --- after an embedding -----------------------------------------------------------------------------


def after_embedding(
    state: UserState,
    event: MemoryEmbedded,
    similar: Sequence[tuple[str, float]],
    policy: LifecyclePolicy,
    pending: AbstractSet[str] = frozenset(),
) -> list[Event]:
    """``similar``: (memory id, cosine) of the nearest memories of this user by the new vector.
    ``pending``: memories this agent decided to activate whose activation it has not read back yet (the
    same batch, or a few batches ago): they count as active, so a repeat right behind them is caught."""
    new = state.memories.get(event.memory_id)
    if new is None or new.state != MemoryState.STORED.value or new.merged_into:
        return []  # not new (a re-embedding after an update), or already decided
    now = event.envelope.recorded_at
    if new.kind != "summary":
        duplicate_of = _duplicate_of(state, new, similar, policy.dedupe_threshold, pending)
        if duplicate_of is not None:
            existing, similarity = duplicate_of
            return [
                MemoryReinforced(
                    envelope=_envelope(
                        event.scope,
                        "MemoryReinforced",
                        derived_event_id(new.memory_id, "MemoryReinforced"),
                        existing.occurred_at,
                        now,
                        event,
                    ),
                    memory_id=existing.memory_id,
                    duplicate_memory_id=new.memory_id,
                    similarity=round(similarity, 6),
                    importance=round(min(1.0, existing.importance + REINFORCE_BONUS), 4),
                )
            ]
    activation = MemoryActivated(
        envelope=_envelope(
            event.scope,
            "MemoryActivated",
            derived_event_id(new.extracted_event_id, "MemoryActivated", 0),
            new.occurred_at,
            now,
            event,
        ),
        memory_id=new.memory_id,
    )
    if new.kind == "summary":
        return [activation]  # it restates its originals: never a contradiction of them
    return [activation, *_supersessions(state, new, event, now, pending)]


def _live(memory: Tracked, pending: AbstractSet[str]) -> bool:
    """Searchable now, or about to be (its activation is on its way back through the log)."""
    if memory.searchable:
        return True
    return memory.memory_id in pending and memory.state == MemoryState.STORED.value and not memory.merged_into


def _duplicate_of(
    state: UserState, new: Tracked, similar: Sequence[tuple[str, float]], threshold: float, pending: AbstractSet[str]
) -> tuple[Tracked, float] | None:
    for other in state.memories.values():  # the same words: no vector needed
        same_words = other.norm == new.norm and bool(new.norm) and other.memory_id != new.memory_id
        if same_words and _live(other, pending) and same_speaker(other.speaker_name, new.speaker_name):
            return other, 1.0
    for memory_id, similarity in sorted(similar, key=lambda s: -s[1]):
        if similarity < threshold:
            break  # sorted: nothing further is similar enough (cheap before any text is compared)
        candidate = state.memories.get(memory_id)
        if candidate is None or candidate.memory_id == new.memory_id or not _live(candidate, pending):
            continue
        if new.claim_slots and detect_contradiction(new.text, candidate.text) is not None:
            continue  # embeddings barely see a changed name ("San Jose" / "San Diego", 0.946): supersede it instead
        if is_duplicate_at(new.text, candidate.text, similarity, threshold):
            return candidate, similarity
    return None


def _supersessions(
    state: UserState, new: Tracked, cause: Event, now: datetime, pending: AbstractSet[str]
) -> list[Event]:
    if not new.claim_slots:
        return []  # says nothing single-valued: cannot contradict anything (cheap check first)
    events: list[Event] = []
    for old in sorted(state.memories.values(), key=lambda m: (m.occurred_at, m.memory_id)):
        if old.memory_id == new.memory_id or not _live(old, pending) or not set(old.claim_slots) & set(new.claim_slots):
            continue
        if old.occurred_at > new.occurred_at:
            continue  # an older statement arriving late does not overturn a newer one
        found = detect_contradiction(new.text, old.text)
        if found is None:
            continue
        events.append(
            MemorySuperseded(
                envelope=_envelope(
                    cause.scope,
                    "MemorySuperseded",
                    derived_event_id(new.memory_id, "MemorySuperseded:" + old.memory_id),
                    new.occurred_at,  # the old one stops being true when the new one starts
                    now,
                    cause,
                ),
                memory_id=old.memory_id,
                superseded_by=new.memory_id,
                slot=found.slot,
                reason=found.reason,
            )
        )
    return events


# --- after an access or an activation -----------------------------------------------------------------


def after_access(state: UserState, event: MemoryAccessed) -> list[Event]:
    tracked = state.memories.get(event.memory_id)
    if tracked is None:
        return []
    at = event.envelope.occurred_at
    if tracked.state == MemoryState.DECAYING.value:
        # The access restarted its clock: rescued if that lifts it above the threshold, else re-scored only
        # (forgetting stays the tick's decision).
        importance = _importance(tracked, at)
        decision = decay_decision(MemoryState.DECAYING, importance, tracked.pinned)
        rescue = decision if decision == MemoryState.ACTIVE else None
        envelope_for = _envelope_for(event.scope, at, event)
        return [reevaluated(tracked.memory_id, importance, rescue, event.event_id, envelope_for, event.request_id)]
    if tracked.state == MemoryState.ARCHIVED.value:
        # Keyed by the memory's generation, not the access: every access read before the recall comes back
        # decides the same two events, which collapse (a second MemoryRecalled would be illegal on Active).
        key = f"{tracked.memory_id}:{tracked.generation}"
        recalled = MemoryRecalled(
            envelope=_envelope(event.scope, "MemoryRecalled", derived_event_id(key, "MemoryRecalled"), at, at, event),
            memory_id=tracked.memory_id,
            request_id=event.request_id,
        )
        activated = MemoryActivated(
            envelope=_envelope(event.scope, "MemoryActivated", derived_event_id(key, "MemoryActivated"), at, at, event),
            memory_id=tracked.memory_id,
        )
        return [recalled, activated]
    return []


def after_activation(state: UserState, event: MemoryActivated) -> list[Event]:
    """A summary became active: archive the originals it stands for."""
    summary = state.memories.get(event.memory_id)
    if summary is None or not summary.summary_of:
        return []
    return _archive(state, summary, event, event.envelope.recorded_at)


def _archive(state: UserState, summary: Tracked, cause: Event, now: datetime) -> list[Event]:
    events: list[Event] = []
    for original_id in summary.summary_of:
        original = state.memories.get(original_id)
        if original is None or original.state != MemoryState.CONSOLIDATING.value:
            continue
        if original.summary_into != summary.memory_id:
            continue
        events.append(
            MemoryArchived(
                envelope=_envelope(
                    cause.scope,
                    "MemoryArchived",
                    derived_event_id(summary.memory_id, "MemoryArchived:" + original_id),
                    original.occurred_at,
                    now,
                    cause,
                ),
                memory_id=original_id,
                summary_memory_id=summary.memory_id,
            )
        )
    return events


# --- ticks ------------------------------------------------------------------------------------------


def _importance(tracked: Tracked, now: datetime) -> float:
    last = tracked.last_access or tracked.created_at
    return current_importance(tracked.importance, tracked.access_count, last, now, tracked.pinned)


def on_tick(state: UserState, cause: Event, now: datetime, policy: LifecyclePolicy) -> list[Event]:
    events = _finish_consolidations(state, cause, now, policy)
    fading: set[str] = set()
    if policy.decay:
        decayed = _decay(state, cause, now)
        fading = {e.memory_id for e in decayed if isinstance(e, MemoryDecayed | MemoryForgotten)}
        events.extend(decayed)
    if policy.consolidate:
        candidates = [m for m in state.memories.values() if m.memory_id not in fading]
        events.extend(_consolidate(candidates, cause, now, policy))
    return events


def _finish_consolidations(state: UserState, cause: Event, now: datetime, policy: LifecyclePolicy) -> list[Event]:
    """Consolidations a crash or a lost race left half done: archive under an active summary, or make the
    summary again (same members, same id) when only the Consolidating marks made it to the log."""
    events: list[Event] = []
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
            events.extend(_archive(state, summary, cause, now))
    return events


def _decay(state: UserState, cause: Event, now: datetime) -> list[Event]:
    events: list[Event] = []
    for memory in sorted(state.memories.values(), key=lambda m: m.memory_id):
        if memory.state not in (MemoryState.ACTIVE.value, MemoryState.DECAYING.value):
            continue
        if memory.superseded_by or memory.merged_into:
            continue  # kept as history: they left search already, decay would only delete the record
        importance = _importance(memory, now)
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
                        envelope=_envelope(
                            cause.scope, "MemoryForgotten", derived_event_id(key, "MemoryForgotten"), now, now, cause
                        ),
                        memory_id=memory.memory_id,
                        reason="decayed",
                    )
                )
                events.extend(_forget_archive_of(state, memory, cause, now))
            else:  # Decaying, or rescued because it was pinned while Decaying
                events.append(
                    reevaluated(memory.memory_id, importance, decision, key, _envelope_for(cause.scope, now, cause))
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
                envelope=_envelope(
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
    active = [m for m in memories if m.state == MemoryState.ACTIVE.value and m.searchable and not m.summary_into]
    if len(active) < 2:
        return []
    by_id = {m.memory_id: m for m in active}
    plans = plan_consolidation([_active_view(m) for m in active], now, policy.age_threshold, policy.token_budget)
    events: list[Event] = []
    for plan in plans:
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
    text = policy.summarizer(items, DEFAULT_MAX_CHARS)
    members = sorted(originals, key=lambda m: (m.occurred_at, m.memory_id))
    entities: dict[str, Entity] = {}
    for member in members:
        for entity_id, name, kind in member.entities:
            entities.setdefault(entity_id, Entity(entity_id, name, kind))

    def env(event_type: str, part: str = "") -> Envelope:
        event_id = derived_event_id(summary_id, event_type + part)
        return _envelope(scope, event_type, event_id, plan.occurred_at, now, cause)

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


# --- commands ---------------------------------------------------------------------------------------


def on_command(state: UserState, command: MemoryCommandIssued, policy: LifecyclePolicy) -> list[Event]:
    """Raises ``InvalidEventError`` (the caller dead-letters it) for an unknown command or memory."""
    name = command.command
    if name not in COMMANDS:
        raise InvalidEventError(f"unknown command {name!r}; expected one of {sorted(COMMANDS)}")
    now = command.envelope.occurred_at
    if name == "tick":
        return on_tick(state, command, now, policy)
    if name == "erase_user":
        event_id = derived_event_id(command.event_id, "UserErased")
        return [
            UserErased(
                envelope=_envelope(command.scope, "UserErased", event_id, now, now, command), reason="erased on request"
            )
        ]
    tracked = state.memories.get(command.memory_id or "")
    if tracked is None:
        raise InvalidEventError(f"{name}: memory {command.memory_id!r} not found for user {command.scope.key!r}")

    def env(event_type: str, occurred_at: datetime = now) -> Envelope:
        return _envelope(
            command.scope, event_type, derived_event_id(command.event_id, event_type), occurred_at, now, command
        )

    if name == "update":
        text = (command.text or "").strip()
        if not text:
            raise InvalidEventError("update: the new text is empty")
        # Valid time stays the memory's: the corrected statement was true since then.
        return [
            MemoryUpdated(envelope=env("MemoryUpdated", tracked.occurred_at), memory_id=tracked.memory_id, text=text)
        ]
    if name in ("pin", "unpin"):
        return [MemoryPinned(envelope=env("MemoryPinned"), memory_id=tracked.memory_id, pinned=name == "pin")]
    return [MemoryForgotten(envelope=env("MemoryForgotten"), memory_id=tracked.memory_id, reason="deleted")]
