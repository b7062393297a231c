"""The decision on a command a user or an operator issued: update, pin/unpin, delete, erase the user, tick,
and the core memory block edits (``memory.blocks.decide``).

Separate because commands are the only decisions that can be refused (an unknown command or memory raises
``InvalidEventError`` and is dead-lettered) and whose event ids derive from the command, not the memory.

A block edit depends on the block's value before it (an append adds to it), so the next command must see
this one's effect even though its event has not come back from the log yet: a block decision folds its
own event into the state at once. That stays safe because the agent sends a batch's events before it saves
the state, and drops what it folded when the sends fail (``streams.agents.lifecycle``): a saved state that
holds the edit implies its event is on the log, and the event folds again as a no-op (same version) when the
agent reads it back.
"""

from __future__ import annotations

from datetime import datetime

from memory.blocks.decide import BLOCK_COMMANDS, decide_block_command
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
from memory.lifecycle.decisions import LifecyclePolicy, envelope_for, lifecycle_envelope
from memory.lifecycle.on_tick import on_tick
from memory.lifecycle.state import UserState, fold

COMMANDS = frozenset({"update", "pin", "unpin", "delete", "erase_user", "tick"}) | BLOCK_COMMANDS


def on_command(state: UserState, command: MemoryCommandIssued, policy: LifecyclePolicy) -> list[Event]:
    """Raises ``InvalidEventError`` (the caller dead-letters it) for an unknown command or memory."""
    name = command.command
    if name not in COMMANDS:
        raise InvalidEventError(f"unknown command {name!r}; expected one of {sorted(COMMANDS)}")
    now = command.envelope.occurred_at
    if name == "tick":
        return on_tick(state, command, now, policy)
    if name in BLOCK_COMMANDS:
        decided = decide_block_command(state.blocks, command, envelope_for(command.scope, now, command))
        for event in decided:
            fold(state, event)
        return decided
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
