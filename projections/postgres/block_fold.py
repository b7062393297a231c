"""Folding core memory block events into ``core_blocks`` and ``core_block_versions`` rows. Pure, like ``fold``.

A ``CoreBlockChanged`` carries the whole block after the edit and its version, so no earlier row is needed:
the version row is keyed by event id (written once), and the current row is upserted only by a higher
version. Applying a block event twice, or an older one after a newer, changes nothing. A refused edit is a
history entry only (``change = 'refused'``) and leaves the block as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memory.contract.events import CoreBlockChanged, CoreBlockEditRefused
from projections.base import Positioned
from projections.postgres.rows import BlockRow, BlockVersionRow

BLOCK_EVENTS = (CoreBlockChanged, CoreBlockEditRefused)
BlockRowKey = tuple[str, str, str, str]  # app, user, agent ('' = none), label
REFUSED = "refused"


@dataclass
class BlockPlan:
    versions: dict[str, BlockVersionRow] = field(default_factory=dict)  # event id → row (first one wins)
    current: dict[BlockRowKey, BlockRow] = field(default_factory=dict)  # the highest version this batch saw

    def __bool__(self) -> bool:
        return bool(self.versions)


def fold_block(plan: BlockPlan, item: Positioned) -> None:
    event = item.event
    assert isinstance(event, BLOCK_EVENTS)
    if event.event_id in plan.versions:
        return
    scope, env, pos = event.scope, event.envelope, item.position
    key = (scope.app_id, scope.user_id, scope.agent_id or "", event.label)
    if isinstance(event, CoreBlockChanged):
        change, value, limit, written, reason = event.change, event.value, event.limit, event.change != "deleted", None
        row = BlockRow(*key, value, limit, event.version, written, env.occurred_at, event.event_id)
        before = plan.current.get(key)
        if before is None or before.version < row.version:
            plan.current[key] = row
    else:
        # The refusal's row says what was refused, not the block: the value stays empty, the limit unknown (0).
        change, value, limit, written, reason = REFUSED, "", 0, True, event.reason
    plan.versions[event.event_id] = BlockVersionRow(
        event.event_id,
        *key,
        change,
        value,
        limit,
        event.version,
        written,
        reason,
        env.occurred_at,
        env.recorded_at,
        env.causation_id,
        pos.topic,
        pos.partition,
        pos.offset,
    )
