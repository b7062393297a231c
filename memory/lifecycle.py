"""The memory lifecycle as a pure transition table (design seed, DESIGN.md §3).

Extracted → Embedding → Stored → Active; Active ↔ Accessed; Active → Consolidating → Archived →
Recalled → Active; Active → Decaying → Forgotten, or back to Active on access.
Projections apply a state change only if the table allows it, so a duplicate or late event can never
move a memory backwards.
"""

from __future__ import annotations

from enum import StrEnum


class MemoryState(StrEnum):
    EXTRACTED = "extracted"
    EMBEDDING = "embedding"
    STORED = "stored"
    ACTIVE = "active"
    ACCESSED = "accessed"
    CONSOLIDATING = "consolidating"
    ARCHIVED = "archived"
    RECALLED = "recalled"
    DECAYING = "decaying"
    FORGOTTEN = "forgotten"


S = MemoryState
TRANSITIONS: dict[MemoryState, frozenset[MemoryState]] = {
    S.EXTRACTED: frozenset({S.EMBEDDING, S.STORED}),  # the embedder may skip the in-flight state
    S.EMBEDDING: frozenset({S.STORED}),
    S.STORED: frozenset({S.ACTIVE}),
    S.ACTIVE: frozenset({S.ACCESSED, S.CONSOLIDATING, S.DECAYING}),
    S.ACCESSED: frozenset({S.ACTIVE}),
    S.CONSOLIDATING: frozenset({S.ARCHIVED, S.ACTIVE}),
    S.ARCHIVED: frozenset({S.RECALLED}),
    S.RECALLED: frozenset({S.ACTIVE}),
    S.DECAYING: frozenset({S.FORGOTTEN, S.ACTIVE}),
    S.FORGOTTEN: frozenset(),
}
SEARCHABLE_BY_DEFAULT = frozenset({S.ACTIVE, S.ACCESSED, S.DECAYING})


def can_transition(current: MemoryState, target: MemoryState) -> bool:
    return target in TRANSITIONS[current]


def advance(current: MemoryState, target: MemoryState) -> MemoryState:
    """Where a memory ends up: ``target`` if allowed, else unchanged (a stale or repeated event)."""
    return target if can_transition(current, target) else current


def reaches(current: MemoryState, target: MemoryState) -> bool:
    """True if ``target`` is reachable from ``current`` (used to ignore events a memory has already passed)."""
    seen = {current}
    frontier = [current]
    while frontier:
        state = frontier.pop()
        for nxt in TRANSITIONS[state]:
            if nxt == target:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False
