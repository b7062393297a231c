"""The memory lifecycle as a pure transition table (design seed, DESIGN.md §3).

Extracted → Embedding → Stored → Active; Active ↔ Accessed; Active → Consolidating → Archived →
Recalled → Active; Active → Decaying → Forgotten, or back to Active on access.
Projections apply a state change only if the table allows it, so a duplicate or late event can never
move a memory backwards.
"""

from __future__ import annotations

from enum import StrEnum

from memory.errors import IllegalTransition


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


def check_transition(current: MemoryState, target: MemoryState) -> None:
    """Raise ``IllegalTransition`` unless the table allows ``current`` → ``target``.

    For the agents, which must dead-letter an illegal request with its reason; the projections keep using
    ``advance``, which silently ignores stale or repeated events instead. Staying in the same state is not a
    transition (the table has no self-loops), so a caller that wants "already there" to be a no-op must check
    ``current == target`` first.
    """
    if not can_transition(current, target):
        allowed = tuple(state.value for state in MemoryState if state in TRANSITIONS[current])
        raise IllegalTransition(current.value, target.value, allowed)


def sources_of(target: MemoryState) -> list[str]:
    """The states (values, in declaration order) from which ``target`` is reachable in one step.

    Stores that guard a state change in the query itself (Neo4j's ``WHERE m.state IN $sources``) need the
    inverse of the table.
    """
    return [state.value for state in MemoryState if target in TRANSITIONS[state]]
