"""The decisions after an access and after an activation: a Decaying memory read again is re-scored (and
rescued when that lifts it), an Archived one found in the archive is recalled; a summary that becomes active
archives its originals.

Separate because they answer single events about one memory, with no search and no policy; the archiving is
shared with the tick, which finishes a consolidation a crash left between the summary and its archive.
"""

from __future__ import annotations

from datetime import datetime

from memory.contract.events import Event, MemoryAccessed, MemoryActivated, MemoryArchived, MemoryRecalled
from memory.contract.ids import derived_event_id
from memory.lifecycle.decay import decay_decision
from memory.lifecycle.decisions import envelope_for, importance_now, lifecycle_envelope
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.reevaluation import reevaluated
from memory.lifecycle.state import Tracked, UserState


def after_access(state: UserState, event: MemoryAccessed) -> list[Event]:
    tracked = state.memories.get(event.memory_id)
    if tracked is None:
        return []
    at = event.envelope.occurred_at
    if tracked.state == MemoryState.DECAYING.value:
        # The access restarted its clock: rescued if that lifts it above the threshold, else re-scored only
        # (forgetting stays the tick's decision).
        importance = importance_now(tracked, at)
        decision = decay_decision(MemoryState.DECAYING, importance, tracked.pinned)
        rescue = decision if decision == MemoryState.ACTIVE else None
        envelopes = envelope_for(event.scope, at, event)
        return [reevaluated(tracked.memory_id, importance, rescue, event.event_id, envelopes, event.request_id)]
    if tracked.state == MemoryState.ARCHIVED.value and recalls(event):
        # Keyed by the memory's generation, not the access: every access read before the recall comes back
        # decides the same two events, which collapse (a second MemoryRecalled would be illegal on Active).
        key = f"{tracked.memory_id}:{tracked.generation}"
        recalled = MemoryRecalled(
            envelope=lifecycle_envelope(
                event.scope, "MemoryRecalled", derived_event_id(key, "MemoryRecalled"), at, at, event
            ),
            memory_id=tracked.memory_id,
            request_id=event.request_id,
        )
        activated = MemoryActivated(
            envelope=lifecycle_envelope(
                event.scope, "MemoryActivated", derived_event_id(key, "MemoryActivated"), at, at, event
            ),
            memory_id=tracked.memory_id,
        )
        return [recalled, activated]
    return []


def recalls(event: MemoryAccessed) -> bool:
    """Whether the access is a recall from the archive: the hit saw the memory archived.

    A memory stays searchable while it is being consolidated, so a hit may see it consolidating (or active) and
    reach the lifecycle only after the archive: that access counts (``fold`` adds it to the memory's accesses)
    but must not undo the consolidation the search was read during. Accesses written before ``seen_state``
    existed say nothing: they recall as they did then, when search hid consolidating memories and a hit on an
    archived one came from the archive, so a replay decides what it decided."""
    return event.seen_state is None or event.seen_state == MemoryState.ARCHIVED.value


def after_activation(state: UserState, event: MemoryActivated) -> list[Event]:
    """A summary became active: archive the originals it stands for."""
    summary = state.memories.get(event.memory_id)
    if summary is None or not summary.summary_of:
        return []
    return archive_originals(state, summary, event, event.envelope.recorded_at)


def archive_originals(state: UserState, summary: Tracked, cause: Event, now: datetime) -> list[Event]:
    """Archive the originals still Consolidating into ``summary`` (ids keyed by the summary: repeats collapse)."""
    events: list[Event] = []
    for original_id in summary.summary_of:
        original = state.memories.get(original_id)
        if original is None or original.state != MemoryState.CONSOLIDATING.value:
            continue
        if original.summary_into != summary.memory_id:
            continue
        events.append(
            MemoryArchived(
                envelope=lifecycle_envelope(
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
