"""A user's core memory blocks as the lifecycle agent folds them from the memory log (one entry per block).

Keyed by ``(agent_id or "", label)``: a block with no agent is the user's, shared by all their agents.
A block keeps its version after a delete (``written`` False), so a label created again continues its count
and every version number of a label names one change. ``recent_commands`` holds the ids of the last commands
whose decision is folded in, so a redelivered command is recognised and decided no second time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from memory.blocks.rules import BlockView, Change, unwritten, view
from memory.contract.events import CoreBlockChanged, CoreBlockEditRefused

RECENT_COMMANDS = 16
BlockKey = tuple[str, str]  # (agent_id or "", label)


def block_key(agent_id: str | None, label: str) -> BlockKey:
    return (agent_id or "", label)


@dataclass
class StoredBlock:
    agent_id: str
    label: str
    value: str = ""
    limit: int = 0
    version: int = 0
    written: bool = False
    updated_at: datetime | None = None
    recent_commands: list[str] = field(default_factory=list)

    def view(self) -> BlockView:
        return view(self.label, self.value, self.limit, self.version, self.written)

    def remember(self, command_id: str) -> None:
        if command_id not in self.recent_commands:
            self.recent_commands = [*self.recent_commands[-(RECENT_COMMANDS - 1) :], command_id]


def block_view(blocks: dict[BlockKey, StoredBlock], agent_id: str | None, label: str) -> BlockView:
    stored = blocks.get(block_key(agent_id, label))
    return stored.view() if stored is not None else unwritten(label)


def fold_block(blocks: dict[BlockKey, StoredBlock], event: CoreBlockChanged | CoreBlockEditRefused) -> BlockKey | None:
    """Apply a block event; returns the key it changed, or None when it was applied before."""
    key = block_key(event.scope.agent_id, event.label)
    stored = blocks.get(key) or StoredBlock(agent_id=key[0], label=event.label)
    if isinstance(event, CoreBlockEditRefused):
        if event.command_event_id in stored.recent_commands:
            return None
        stored.remember(event.command_event_id)
    else:
        if event.version <= stored.version:
            return None  # versions only grow: this change (or a later one) is in already
        stored.value, stored.limit, stored.version = event.value, event.limit, event.version
        stored.written = event.change != Change.DELETED.value
        stored.updated_at = event.envelope.occurred_at
        if event.envelope.causation_id:
            stored.remember(event.envelope.causation_id)
    blocks[key] = stored
    return key


def stored_block_to_json(block: StoredBlock) -> bytes:
    values = asdict(block)
    values["updated_at"] = block.updated_at.isoformat() if block.updated_at else None
    return json.dumps(values).encode()


def stored_block_from_json(raw: bytes) -> StoredBlock:
    values: dict[str, Any] = json.loads(raw)
    if values.get("updated_at"):
        values["updated_at"] = datetime.fromisoformat(values["updated_at"])
    return StoredBlock(**values)
