"""Which lifecycle state each memory event asks for: one answer shared by every projector and the agents.

Projections apply the state only where ``memory.lifecycle`` allows it (a stale or repeated event changes
nothing); the lifecycle agent dead-letters an event whose transition is illegal.
"""

from __future__ import annotations

from memory.events import (
    Event,
    MemoryActivated,
    MemoryArchived,
    MemoryConsolidating,
    MemoryDecayed,
    MemoryEmbedded,
    MemoryExtracted,
    MemoryForgotten,
    MemoryRecalled,
)
from memory.lifecycle import MemoryState


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
    if isinstance(event, MemoryDecayed):
        return MemoryState(event.state) if event.state else None
    if isinstance(event, MemoryForgotten):
        return MemoryState.FORGOTTEN
    return None
