"""Ticks wait until the lifecycle table is whole again after a worker takes a partition over.

A tick decides on the whole of a user's memories (decay, consolidation), so it must see every event the memory
log held for them. After a restart or a rebalance that is not yet so: the table is restored from its changelog,
and a worker killed while sending a batch's changelog entries left some of them there and not others (the batch
was not committed, so its events are read again, and folding them again completes the state). Until the worker
has read its memory-log partition up to where it ended when the partition was taken over, the restored state
can mix halves of one decision; a tick decided on it made a second, overlapping consolidation (five summaries of
40 memories became seven in `tests/e2e/test_lifecycle_crash.py`).

So per memory-log partition, from each assignment: the gate opens once the agent has folded the offset before
the partition's end as it was first asked for, or at once when the group's committed offset is already there
(nothing to read again). A tick arriving while its partition's gate is shut goes back to the end of the commands
topic (the same bytes, so a tick is still decided once in effect) and comes round again after the backlog.
Commands and memory events are keyed by the user, so a user's tick and memories share a partition number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

# (committed offset or None, end offset) of one memory-log partition, from the broker.
Backlog = tuple[int | None, int]


@dataclass
class TickGate:
    read_backlog: Callable[[list[int]], Awaitable[dict[int, Backlog]]]
    # partition -> the last offset to fold before its ticks may be decided; absent: not asked yet this assignment
    _due: dict[int, int] = field(default_factory=dict)
    _open: set[int] = field(default_factory=set)
    _folded: dict[int, int] = field(default_factory=dict)

    def reset(self) -> None:
        """Partitions were assigned or revoked: every gate shuts until it is asked about again."""
        self._due.clear()
        self._open.clear()
        self._folded.clear()

    async def prepare(self, partitions: Iterable[int]) -> None:
        """Learn the backlog of partitions not asked about since the last assignment (before deciding a batch,
        whose deciding is synchronous)."""
        unknown = sorted({p for p in partitions if p not in self._due and p not in self._open})
        if not unknown:
            return
        for partition, (committed, end) in (await self.read_backlog(unknown)).items():
            if end == 0 or (committed is not None and committed >= end):
                self._open.add(partition)  # nothing written, or nothing past the commit: nothing to read again
            else:
                self._due[partition] = end - 1
                self._check(partition)

    def folded(self, partition: int, offset: int) -> None:
        """The agent folded the memory-log event at ``offset`` of ``partition``."""
        if offset > self._folded.get(partition, -1):
            self._folded[partition] = offset
            self._check(partition)

    def is_open(self, partition: int) -> bool:
        return partition in self._open

    def _check(self, partition: int) -> None:
        due = self._due.get(partition)
        if due is not None and self._folded.get(partition, -1) >= due:
            self._open.add(partition)
            del self._due[partition]
