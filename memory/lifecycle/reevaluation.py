"""The event that says what re-evaluating a memory's importance decided (after an access, or on a tick).

- Active below the decaying threshold → ``MemoryDecayed(state="decaying")``.
- Decaying and back above it (an access restarted its clock, or it was pinned) → ``MemoryRescued``: the way
  back is its own event, named for what happened. Logs written before it existed carry the same step as
  ``MemoryDecayed(state="active")``, which ``memory.lifecycle.transitions`` still reads as a rescue.
- Anything else re-scores only: ``MemoryDecayed(state=None)``.

Forgetting is not decided here: it is ``MemoryForgotten``, which removes the memory everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from memory.contract.events import Envelope, Event, MemoryDecayed, MemoryRescued
from memory.contract.ids import derived_event_id
from memory.lifecycle.machine import MemoryState

# Builds the envelope of a decided event from its type and id (the caller knows scope, times and cause).
EnvelopeFor = Callable[[str, str], Envelope]


def reevaluation_id(key: str) -> str:
    """One id per re-evaluation, whichever event it turns out to be. It is derived as it was when the rescue
    was a ``MemoryDecayed``, so a decision a worker took before this version and takes again after it (a
    batch redelivered across an upgrade) still collapses into one event in every store."""
    return derived_event_id(key, "MemoryDecayed")


def reevaluated(
    memory_id: str,
    importance: float,
    decision: MemoryState | None,
    key: str,
    envelope_for: EnvelopeFor,
    request_id: str | None = None,
) -> Event:
    """The event for ``decision`` (``memory.lifecycle.decay.decay_decision``; never FORGOTTEN, see above) about
    ``memory_id`` at ``importance``; ``key`` names the decision (the access, or the memory's generation)."""
    event_id = reevaluation_id(key)
    rounded = round(importance, 4)
    if decision == MemoryState.ACTIVE:
        return MemoryRescued(
            envelope=envelope_for("MemoryRescued", event_id),
            memory_id=memory_id,
            importance=rounded,
            request_id=request_id,
        )
    if decision not in (None, MemoryState.DECAYING):
        raise ValueError(f"a re-evaluation decides decaying, rescued or nothing, not {decision}")
    return MemoryDecayed(
        envelope=envelope_for("MemoryDecayed", event_id),
        memory_id=memory_id,
        importance=rounded,
        state=decision.value if decision is not None else None,
    )
