"""Start and stop the pipeline's own processes (Faust worker, projectors, API) with given settings.

Shared by ``memstream run``, the end-to-end tests and the benchmarks, so all three run the same thing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from memory.settings import PROJECT_ROOT, Settings

COMPONENTS: dict[str, list[str]] = {
    # --without-web: the CLI overrides the app's web_enabled, and every worker would bind port 6066. --quiet: no banner
    # on stdout, whose log is JSON lines only (adapters/logs.py).
    "streams": [sys.executable, "-m", "streams", "--quiet", "worker", "--without-web", "--loglevel", "warn"],
    "projections": [sys.executable, "-m", "projections"],
    "api": [sys.executable, "-m", "api"],
}


class StartupError(RuntimeError):
    pass


@dataclass
class System:
    settings: Settings
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Extra environment for every component, e.g. MEMSTREAM_FAULTS for a fault drill (adapters.faults).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StartupError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise StartupError(f"the API at {self.base_url} was not ready after {timeout:.0f}s:\n{self.log_tail('api')}")

    def launch(self, name: str) -> subprocess.Popen[bytes]:
        """Start one component with this system's settings, appending to its log."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as handle:
            proc = subprocess.Popen(
                COMPONENTS[name],
                env={**os.environ, **self.settings.to_env(), **self.env},
                cwd=PROJECT_ROOT,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int:
        """Send ``sig`` to one component and wait for it to exit; returns its exit code."""
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout=timeout)

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Relaunch one component (stopped or killed before) with the same settings and log."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            raise StartupError(f"{name} is still running (pid {proc.pid}); kill it first")
        return self.launch(name)

    def stop(self, timeout: float = 30.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_system(
    settings: Settings,
    logs: Path,
    components: tuple[str, ...] = tuple(COMPONENTS),
    env: dict[str, str] | None = None,
) -> System:
    system = System(settings, logs, env=dict(env or {}))
    for name in components:
        system.launch(name)
    return system
