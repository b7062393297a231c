"""Region B's Kafka and MirrorMaker 2, started and stopped through the local stack's own script.

The stack (``infra/local/stack.py``, run from the project root, not installed) owns these processes and their
PID files; the drill asks it for them like ``memstream run`` asks for the rest of the stack, with the drill's
settings in the environment, so MirrorMaker 2 mirrors exactly the drill's topics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from memory.settings import PROJECT_ROOT, Settings

STACK = [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py")]
KAFKA_B, MIRROR_MAKER = "kafka-b", "mirror-maker"


class RegionBError(RuntimeError):
    pass


def _stack(settings: Settings, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STACK, *args],
        env={**os.environ, **settings.to_env()},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def running(settings: Settings) -> dict[str, bool]:
    out = _stack(settings, "status", "--json", KAFKA_B, MIRROR_MAKER, timeout=60)
    try:
        states: dict[str, bool] = json.loads(out.stdout)
    except json.JSONDecodeError:
        return {KAFKA_B: False, MIRROR_MAKER: False}
    return states


def start_async(settings: Settings) -> subprocess.Popen[str]:
    """Starts region B's Kafka and MirrorMaker 2 in the background (their JVMs start while region A's
    processes do); ``wait_started`` collects the result."""
    return subprocess.Popen(
        [*STACK, "start", KAFKA_B, MIRROR_MAKER],
        env={**os.environ, **settings.to_env()},
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_started(proc: subprocess.Popen[str], timeout: float = 300.0) -> str:
    output, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RegionBError(f"region B did not start (exit {proc.returncode}):\n{output[-3000:]}")
    return output


def stop(settings: Settings, *services: str) -> None:
    out = _stack(settings, "stop", *services, timeout=120)
    if out.returncode != 0:
        raise RegionBError(f"could not stop {', '.join(services)}:\n{out.stderr[-3000:]}")
