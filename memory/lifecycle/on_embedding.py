"""The decision after a memory is embedded: reinforce what it repeats, or activate it and supersede what it
contradicts.

Separate from the other decisions because it is the only one that reads the vector index's answer (the
nearest memories by the new vector) and the only one that compares texts (``dedupe``, ``contradiction``).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime

from memory.contract.events import Event, MemoryActivated, MemoryEmbedded, MemoryReinforced, MemorySuperseded
from memory.contract.ids import derived_event_id
from memory.lifecycle.contradiction import detect_contradiction
from memory.lifecycle.decisions import LifecyclePolicy, lifecycle_envelope
from memory.lifecycle.dedupe import is_duplicate_at, same_speaker
from memory.lifecycle.machine import MemoryState
from memory.lifecycle.state import Tracked, UserState

REINFORCE_BONUS = 0.05  # a repeated fact matters a little more each time it is said


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
                    envelope=lifecycle_envelope(
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
        envelope=lifecycle_envelope(
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
    """Live now, or about to be (its activation is on its way back through the log)."""
    if memory.live:
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
                envelope=lifecycle_envelope(
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
