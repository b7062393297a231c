"""The whole running system on the local stack: Faust worker, projectors and API as real processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.producer_door import grant, revoke
from adapters.secret_files import secret_from_file
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import System, start_system
from tests.support import isolated_settings, unique


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningSystem:
    system: System
    app_id: str
    # A producer credential for this system's turns topic, created on first use and revoked at the end.
    producer: str | None = None

    @property
    def settings(self) -> Settings:
        return self.system.settings

    def producer_flags(self) -> list[str]:
        """``memstream produce`` flags of a producer credential that may write this system's turns topic."""
        password_file = self.system.logs / "producer.password"
        if self.producer is None:
            self.producer = unique("producer-")
            grant(self.settings, self.producer, secret_from_file(password_file))
        return ["--username", self.producer, "--password-file", str(password_file)]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.system.base_url, timeout=30)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memstream_cli.main", *args],
            env={**os.environ, **self.settings.to_env()},
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )


@contextlib.contextmanager
def running_system(stack_settings: Settings, logs: Path, **overrides: Any) -> Iterator[RunningSystem]:
    """The worker, projectors and API on isolated settings (with ``overrides``), stopped afterwards."""
    settings = replace(isolated_settings(stack_settings), api_port=free_port(), **overrides)
    running = start_system(settings, logs)
    system = RunningSystem(running, unique("app-"))
    try:
        running.wait_ready()
        yield system
    finally:
        running.stop()
        if system.producer is not None:
            revoke(settings, system.producer)
        if os.environ.get("MEMSTREAM_TEST_SHOW_LOGS"):
            for name in running.procs:
                print(f"--- {name} ---\n{running.log_tail(name, 5000)}")


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(stack_settings, tmp_path_factory.mktemp("logs")) as running:
        yield running
