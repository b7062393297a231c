"""Which lifecycle state each memory event asks for, and from where: one answer shared by every projector and
the agents.

Projections apply the state only where ``memory.lifecycle.machine`` allows it (a stale or repeated event changes
nothing); the lifecycle agent dead-letters an event whose transition is illegal. Most events ask for a state
and take any way the table has into it; a rescue names one edge, Decaying → Active (``sources_for``).
"""

from __future__ import annotations

from memory.contract.events import (
    Event,
    MemoryActivated,
    MemoryArchived,
    MemoryConsolidating,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryForgotten,
    MemoryRecalled,
    MemoryRescued,
)
from memory.lifecycle.machine import MemoryState, sources_of


def target_state(event: Event) -> MemoryState | None:
    """The state this event moves its memory to, or None if it changes no state."""
    if isinstance(event, MemoryExtracted):
        return MemoryState.EXTRACTED
    if isinstance(event, MemoryEmbedded):
        return MemoryState.STORED
    if isinstance(event, MemoryActivated):
        return MemoryState.ACTIVE
    if isinstance(event, MemoryConsolidating):
        return MemoryState.CONSOLIDATING
    if isinstance(event, MemoryArchived):
        return MemoryState.ARCHIVED
    if isinstance(event, MemoryRecalled):
        return MemoryState.RECALLED
    if isinstance(event, MemoryRescued):
        return MemoryState.ACTIVE
    if isinstance(event, MemoryDecayed):
        # "active" is the rescue as logs before MemoryRescued wrote it: still Decaying → Active on replay.
        return MemoryState(event.state) if event.state else None
    if isinstance(event, MemoryForgotten):
        return MemoryState.FORGOTTEN
    return None


def is_rescue(event: Event) -> bool:
    """``MemoryRescued``, or the rescue as logs written before it carry it: ``MemoryDecayed(state="active")``."""
    if isinstance(event, MemoryRescued):
        return True
    return isinstance(event, MemoryDecayed) and event.state == MemoryState.ACTIVE.value


def sources_for(event: Event, target: MemoryState) -> list[str]:
    """The states (values, in declaration order) from which ``event`` may move its memory to ``target``.

    The table's ways in (``memory.lifecycle.machine.sources_of``), except for a rescue: Active has other ways in
    (activation, an abandoned consolidation, a recall), and a rescue that arrives for a memory in one of
    those states (stale, or out of order) must not take them, or a memory's history would show a rescue
    where no Decaying memory came back."""
    if is_rescue(event):
        return [MemoryState.DECAYING.value]
    return sources_of(target)


def moves(event: Event, current: MemoryState, target: MemoryState) -> bool:
    """True if ``event``, asking for ``target``, moves a memory that is in ``current``."""
    return current.value in sources_for(event, target)
