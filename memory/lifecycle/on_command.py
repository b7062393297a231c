"""The decision on a command a user or an operator issued: update, pin/unpin, delete, erase the user, tick.

Separate because commands are the only decisions that can be refused (an unknown command or memory raises
``InvalidEventError`` and is dead-lettered) and whose event ids derive from the command, not the memory.
"""

from __future__ import annotations

from datetime import datetime

from memory.contract.events import (
    Envelope,
    Event,
    MemoryCommandIssued,
    MemoryForgotten,
    MemoryPinned,
    MemoryUpdated,
    UserErased,
)
from memory.contract.ids import derived_event_id
from memory.errors import InvalidEventError
from memory.lifecycle.decisions import LifecyclePolicy, lifecycle_envelope
from memory.lifecycle.on_tick import on_tick
from memory.lifecycle.state import UserState

COMMANDS = frozenset({"update", "pin", "unpin", "delete", "erase_user", "tick"})


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
                envelope=lifecycle_envelope(command.scope, "UserErased", event_id, now, now, command),
                reason="erased on request",
            )
        ]
    tracked = state.memories.get(command.memory_id or "")
    if tracked is None:
        raise InvalidEventError(f"{name}: memory {command.memory_id!r} not found for user {command.scope.key!r}")

    def env(event_type: str, occurred_at: datetime = now) -> Envelope:
        return lifecycle_envelope(
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
