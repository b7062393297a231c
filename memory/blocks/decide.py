"""The lifecycle agent's decision on a block command: one ``CoreBlockChanged``, or a ``CoreBlockEditRefused``.

The API checked the edit against the projected block before producing the command; the agent decides
against its folded state, which also holds edits the projection has not caught up with, so a refusal here
means another edit won a race. Event ids derive from the command's id: a command decided twice (a
redelivery before its event was folded) produces the same event, which every consumer collapses.
"""

from __future__ import annotations

from collections.abc import Callable

from memory.blocks import rules
from memory.blocks.state import BlockKey, StoredBlock, block_key, block_view
from memory.contract.events import CoreBlockChanged, CoreBlockEditRefused, Envelope, Event, MemoryCommandIssued
from memory.contract.ids import derived_event_id
from memory.errors import InvalidEventError

BLOCK_COMMANDS = frozenset({"block_create", "block_append", "block_replace", "block_delete"})


# (event_type, event_id) -> the envelope of an event this command causes (the lifecycle agent's).
EnvelopeFor = Callable[[str, str], Envelope]


def decide_block_command(
    blocks: dict[BlockKey, StoredBlock], command: MemoryCommandIssued, envelope: EnvelopeFor
) -> list[Event]:
    """Raises ``InvalidEventError`` for a command no API would produce (no label): it is dead-lettered."""
    label = command.label or ""
    if not label:
        raise InvalidEventError(f"{command.command}: the command names no block label")
    stored = blocks.get(block_key(command.scope.agent_id, label))
    if stored is not None and command.event_id in stored.recent_commands:
        return []  # decided and folded before: its event is on the log already
    block = block_view(blocks, command.scope.agent_id, label)
    try:
        edit = _edit(block, command)
    except rules.EditRefused as refused:
        event_id = derived_event_id(command.event_id, "CoreBlockEditRefused")
        return [
            CoreBlockEditRefused(
                envelope=envelope("CoreBlockEditRefused", event_id),
                label=label,
                command=command.command,
                command_event_id=command.event_id,
                reason=refused.message,
                version=block.version,
            )
        ]
    event_id = derived_event_id(command.event_id, "CoreBlockChanged")
    return [
        CoreBlockChanged(
            envelope=envelope("CoreBlockChanged", event_id),
            label=label,
            change=edit.change.value,
            value=edit.value,
            limit=edit.limit,
            version=edit.version,
        )
    ]


def _edit(block: rules.BlockView, command: MemoryCommandIssued) -> rules.Edit:
    name = command.command
    if name == "block_create":
        return rules.create(block, command.text or "", command.limit or rules.DEFAULT_LIMIT)
    if name == "block_append":
        return rules.append(block, command.text or "")
    if name == "block_replace":
        return rules.replace(block, command.old_text or "", command.new_text or "")
    return rules.delete(block)
