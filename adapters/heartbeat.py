"""Liveness of the processes that serve no HTTP (the stream worker, the projectors): each one's own loop moves
the modification time of a file, and an exec probe asks how old it is.

The file is ``<data_dir>/heartbeat/<process>-<its consumer group>``, so processes of several systems sharing a
data directory (the tests) never answer for each other; a process launched as one of several instances
(``Settings.process_instance``, memstream_cli/processes.py) adds ``.<instance>``, so two workers of one group
each beat their own file. Only the loop that does the work beats: a process that
hangs without exiting (a deadlock, a stuck call) goes stale and its probe fails, so Kubernetes restarts it.

    python -m adapters.heartbeat streams|projections MAX_AGE_SECONDS     # exit 0: fresh; 1: stale or missing
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from memory.settings import Settings

PROCESSES = ("streams", "projections")


def heartbeat_path(settings: Settings, process: str) -> Path:
    if process not in PROCESSES:
        raise ValueError(f"no heartbeat for {process!r}; one of {PROCESSES}")
    group = settings.faust_app_id if process == "streams" else f"{settings.consumer_group_prefix}.projection"
    instance = f".{settings.process_instance}" if settings.process_instance else ""
    return settings.data_dir / "heartbeat" / f"{process}-{group}{instance}"


def beat(path: Path, at: float | None = None) -> None:
    """``at`` (a wall-clock time; default now) as the file's modification time, creating it the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    when = time.time() if at is None else at
    os.utime(path, (when, when))


def age_seconds(path: Path) -> float | None:
    """Seconds since the last beat, or None before the first one."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in PROCESSES:
        print(f"usage: python -m adapters.heartbeat {{{'|'.join(PROCESSES)}}} MAX_AGE_SECONDS", file=sys.stderr)
        return 2
    path = heartbeat_path(Settings.from_env(), argv[0])  # the probe runs with the process's environment
    age = age_seconds(path)
    if age is None or age > float(argv[1]):
        print(f"{argv[0]}: no beat in {argv[1]} s ({path}: {'missing' if age is None else f'{age:.0f} s old'})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
