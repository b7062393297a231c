"""The memory lifecycle as a pure transition table.

Extracted → Stored → Active; Active → Consolidating → Archived → Recalled → Active; Active → Decaying →
Forgotten, or back to Active when rescued (a search finds it again, or it is pinned: ``MemoryRescued``).
Projections apply a state change only if the table allows it, so a duplicate or late event can never
move a memory backwards.

Every state here is one some event puts a memory in (``memory.lifecycle.transitions``), so a memory's history shows
each state it passed through. The design seed also drew Embedding (between Extracted and Stored) and
Accessed (Active ↔ Accessed), but no event ever entered them: the embedder goes from Extracted to Stored in
one event, and an access by itself changes no state. Recording them would cost an event per memory on the
ingest path and a state change per search hit (each one bumping the user's cache epoch, so the hot cache
would be emptied by the very searches it serves). They are events in a memory's life instead:
``MemoryEmbedded`` (Extracted → Stored) and ``MemoryAccessed`` (no state change; it feeds importance).
"""

from __future__ import annotations

from enum import StrEnum

from memory.errors import IllegalTransition


class MemoryState(StrEnum):
    EXTRACTED = "extracted"
    STORED = "stored"
    ACTIVE = "active"
    CONSOLIDATING = "consolidating"
    ARCHIVED = "archived"
    RECALLED = "recalled"
    DECAYING = "decaying"
    FORGOTTEN = "forgotten"


S = MemoryState
TRANSITIONS: dict[MemoryState, frozenset[MemoryState]] = {
    S.EXTRACTED: frozenset({S.STORED}),
    S.STORED: frozenset({S.ACTIVE}),
    S.ACTIVE: frozenset({S.CONSOLIDATING, S.DECAYING}),
    S.CONSOLIDATING: frozenset({S.ARCHIVED, S.ACTIVE}),
    S.ARCHIVED: frozenset({S.RECALLED}),
    S.RECALLED: frozenset({S.ACTIVE}),
    S.DECAYING: frozenset({S.FORGOTTEN, S.ACTIVE}),
    S.FORGOTTEN: frozenset(),
}
# What the lifecycle's own decisions count as live: a new duplicate folds into it, a contradiction supersedes it,
# the dense index's neighbours are drawn from it. A memory being consolidated is not: it is about to be archived.
LIVE = frozenset({S.ACTIVE, S.DECAYING})
# What reads (search, context, listing) show when a request names no state: the live memories, and those being
# consolidated, which stay searchable until the summary that replaces them is (the summary turns Active, then they
# are Archived). Hiding them from the first mark on left a user's searches empty for as long as a backlog took.
SEARCHABLE_BY_DEFAULT = LIVE | {S.CONSOLIDATING}

# The seed's two states that no memory was ever in. Requests written against the old drawing may still name
# them (a filter on "accessed" matched nothing before): each is read as the state such a memory really is
# in — a memory being embedded is Extracted, an accessed one is Active — so an old request that also names
# the real state gets the same answer as before.
RETIRED_STATE_NAMES: dict[str, MemoryState] = {"embedding": S.EXTRACTED, "accessed": S.ACTIVE}


def state_named(name: str) -> MemoryState:
    """The state a request's name stands for (a retired name included); ``ValueError`` for any other name."""
    retired = RETIRED_STATE_NAMES.get(name)
    if retired is not None:
        return retired
    try:
        return MemoryState(name)
    except ValueError:
        known = ", ".join(s.value for s in MemoryState)
        retired_names = ", ".join(f"{old} (read as {new.value})" for old, new in RETIRED_STATE_NAMES.items())
        raise ValueError(f"unknown state {name!r}; the states are {known}; also accepted: {retired_names}") from None


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
