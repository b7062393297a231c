"""Ticks wait until the lifecycle state holds everything the memory log holds for their partition.

A tick decides on the whole of a user's memories (decay, consolidation), so it must see every event the memory
log held for them. Two things can leave the state behind the log:

- *A partition taken over* (a restart, a rebalance): the table is restored from its changelog, and a worker
  killed while sending a batch's changelog entries left some of them there and not others (the batch was not
  committed, so its events are read again, and folding them again completes the state). Until the worker has
  read the partition up to where it ended when it was taken over, the state can mix halves of one decision; a
  tick decided on it made a second, overlapping consolidation (five summaries of 40 memories became seven in
  `tests/e2e/test_lifecycle_crash.py`).
- *The worker's own decisions not read back yet*: a tick decided before the previous tick's consolidation was
  folded decides it again. The ids collapse, but a worker behind its own output (after a rebalance, on a busy
  machine) re-sent whole consolidations every tick, and the floods kept it behind (up to 25 copies of one
  event on a partition in `tests/e2e/test_rebalance.py`).

So per memory-log partition, from each assignment: the gate opens once the agent has folded both the offset
before the partition's end as it was when first asked for (at once when the group's committed offset is already
there) and the last offset this worker itself wrote there. Commands and memory events are keyed by the user,
so a user's tick and memories share a partition number. What the agent does with a tick at a shut gate is its
business (streams.agents.lifecycle).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

# (committed offset or None, end offset) of one memory-log partition, from the broker.
Backlog = tuple[int | None, int]


@dataclass
class TickGate:
    read_backlog: Callable[[list[int]], Awaitable[dict[int, Backlog]]]
    _asked: set[int] = field(default_factory=set)  # partitions whose backlog is known since the last assignment
    _due: dict[int, int] = field(default_factory=dict)  # partition -> the last offset to fold before a tick
    _folded: dict[int, int] = field(default_factory=dict)

    def reset(self) -> None:
        """Partitions were assigned or revoked: every gate shuts until it is asked about again."""
        self._asked.clear()
        self._due.clear()
        self._folded.clear()

    async def prepare(self, partitions: Iterable[int]) -> None:
        """Learn the backlog of partitions not asked about since the last assignment (before deciding a batch,
        whose deciding is synchronous)."""
        unknown = sorted({p for p in partitions if p not in self._asked})
        if not unknown:
            return
        for partition, (committed, end) in (await self.read_backlog(unknown)).items():
            self._asked.add(partition)
            if end > 0 and (committed is None or committed < end):
                self._expect(partition, end - 1)  # events written before it was taken over: read them again

    def produced(self, partition: int, offset: int) -> None:
        """This worker wrote the memory-log event at ``offset`` of ``partition``."""
        self._expect(partition, offset)

    def folded(self, partition: int, offset: int) -> None:
        """The agent folded the memory-log event at ``offset`` of ``partition``."""
        self._folded[partition] = max(self._folded.get(partition, -1), offset)

    def is_open(self, partition: int) -> bool:
        return partition in self._asked and self._folded.get(partition, -1) >= self._due.get(partition, -1)

    def _expect(self, partition: int, offset: int) -> None:
        self._due[partition] = max(self._due.get(partition, -1), offset)
