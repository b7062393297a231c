"""``memstream run``: start the local stack, the Faust worker, the projectors and the API; Ctrl-C stops them.

Services of the stack that were already running are reused and left running; those this command started
are stopped on exit, as are the worker, projector and API processes it spawned (by their own PIDs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from memory.settings import PROJECT_ROOT, Settings

STACK = [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py")]


def stack_status() -> dict[str, bool]:
    out = subprocess.run([*STACK, "status", "--json"], capture_output=True, text=True, check=True).stdout
    status: dict[str, bool] = json.loads(out)
    return status


def wait_for_http(url: str, timeout: float, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} during start-up; see its log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s")


def spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handle = log_path.open("ab")
    return subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=handle, stderr=subprocess.STDOUT, env=os.environ.copy())


def run(settings: Settings) -> int:
    before = stack_status()
    subprocess.run([*STACK, "install"], check=True)
    subprocess.run([*STACK, "start"], check=True)
    started_services = [name for name, up in before.items() if not up]
    logs = settings.data_dir / "logs"
    procs = [
        spawn([sys.executable, "-m", "streams", "worker", "--loglevel", "info"], logs / "streams.log"),
        spawn([sys.executable, "-m", "projections"], logs / "projections.log"),
        spawn([sys.executable, "-m", "api"], logs / "api.log"),
    ]
    base = f"http://{settings.api_host}:{settings.api_port}"
    try:
        wait_for_http(f"{base}/health", 120, procs)
        print(f"memstream is running.\n  API:          {base}\n  OpenAPI docs: {base}/schema/swagger")
        print(f"  produce:      memstream produce examples/conversation.jsonl\n  logs:         {logs}")
        print("Ctrl-C stops everything this command started.", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        failed = [p.args for p in procs if p.poll() is not None]
        print(f"a component exited: {failed!r}; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if started_services:
            subprocess.run([*STACK, "stop", *started_services], check=False)
