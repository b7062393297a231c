"""Liveness of the processes without HTTP (adapters/heartbeat.py), as the chart's exec probes ask it: fresh while
the real stream worker and projectors run; stale once a process stops turning (SIGSTOP: a hang that does not
exit, which a crash-only restart policy never notices); fresh again when it resumes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.heartbeat import PROCESSES
from memory.settings import PROJECT_ROOT, Settings
from tests.e2e.conftest import RunningSystem, running_system

BEAT_SECONDS = 0.5
MAX_AGE_SECONDS = 4


@pytest.fixture(scope="module")
def beating(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    logs: Path = tmp_path_factory.mktemp("logs")
    with running_system(stack_settings, logs, heartbeat_seconds=BEAT_SECONDS) as running:
        yield running


def probe(system: RunningSystem, process: str) -> subprocess.CompletedProcess[str]:
    """The chart's exec probe, run with the process's own settings (its instance name among them)."""
    return subprocess.run(
        [sys.executable, "-m", "adapters.heartbeat", process, str(MAX_AGE_SECONDS)],
        env={**os.environ, **system.system.settings_of(process).to_env()},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for(system: RunningSystem, process: str, alive: bool, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if (probe(system, process).returncode == 0) == alive:
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"{process}: the probe never said {'alive' if alive else 'stale'}: {probe(system, process).stdout}")


@pytest.mark.parametrize("process", PROCESSES)
def test_a_process_that_stops_turning_goes_stale_and_recovers(beating: RunningSystem, process: str) -> None:
    wait_for(beating, process, alive=True, within=180)  # the worker beats once it has joined its group
    pid = beating.system.procs[process].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        took = wait_for(beating, process, alive=False, within=MAX_AGE_SECONDS + 20)
        assert "no beat in" in probe(beating, process).stdout
    finally:
        os.kill(pid, signal.SIGCONT)
    assert took >= MAX_AGE_SECONDS - 1.5  # stale only after the allowed age, not at the first missed beat
    wait_for(beating, process, alive=True, within=60)


def test_the_probe_refuses_what_it_does_not_know(beating: RunningSystem) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.heartbeat", "api", "10"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "usage" in done.stderr
