"""CPU time spent by this process and by the local stack's services, read from ``/proc``.

On a shared machine the wall clock measures the neighbours as much as the code: with a load average of 8 on
2 cores, a stage gets a quarter of a core. CPU seconds do not depend on how long the stage waited for a
core, so ``work / CPU seconds`` is the per-core rate the capacity arithmetic needs (it still moves a little
with cache and memory-bus contention, hence the repetitions). A service's CPU is its whole process tree:
PostgreSQL serves each connection from a child process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from memory.settings import Settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = ("kafka", "postgres", "neo4j", "milvus", "redis")


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (which may hold spaces), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one live process (utime and stime, fields 14 and 15 of proc(5))."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its descendants: each live process's own time plus what its reaped children
    spent (cutime, cstime), so a PostgreSQL backend that has exited is still counted, once."""
    parents: dict[int, int] = {}
    totals: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        totals[pid] = sum(int(x) for x in fields[11:15]) / CLOCK_TICKS

    def in_tree(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    return sum(cpu for pid, cpu in totals.items() if in_tree(pid))


def service_pids(settings: Settings) -> dict[str, int]:
    """The pids the local stack recorded for its services (``<data_dir>/run/<name>.pid``)."""
    pids = {}
    for name in SERVICES:
        path = settings.data_dir.resolve() / "run" / f"{name}.pid"
        if path.exists():
            pids[name] = int(path.read_text().split()[0])
    return pids


@dataclass
class CpuSnapshot:
    own: float
    services: dict[str, float]


class CpuMeter:
    """CPU seconds spent between two ``take`` calls, by this process and by each of the stack's services."""

    def __init__(self, settings: Settings):
        self.pids = service_pids(settings)

    def take(self) -> CpuSnapshot:
        return CpuSnapshot(process_cpu(os.getpid()), {n: tree_cpu(p) for n, p in self.pids.items()})

    @staticmethod
    def spent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
        spent = {"own": after.own - before.own}
        spent.update({n: after.services[n] - before.services.get(n, 0.0) for n in after.services})
        return {n: round(s, 3) for n, s in spent.items()}
