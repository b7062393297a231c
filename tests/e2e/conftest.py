"""The whole running system on the local stack: Faust worker, projectors and API as real processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.producer_door import grant, revoke
from adapters.secret_files import generated_secret
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import System, start_system
from tests.support import bearer, isolated_settings, issue_key, unique

TEST_KEY_RATE_LIMIT = 1_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_block(instances: int, stride: int = Settings.instance_port_stride) -> int:
    """A free port P with P + k * stride free too for k in 1..instances: where a system of several instances puts
    its balancer (P) and its API processes (memstream_cli.processes.instance_settings), or its metrics ports."""
    while True:
        base = free_port()
        if base + instances * stride < 65536 and all(port_free(base + k * stride) for k in range(1, instances + 1)):
            return base


@dataclass
class RunningSystem:
    """A running system and the app its tests act as: ``admin_key`` is an app-wide admin key of ``app_id``."""

    system: System
    app_id: str
    admin_key: str = ""
    # A producer credential for this system's turns topic, created on first use and revoked at the end.
    producer: str | None = None

    def __post_init__(self) -> None:
        if not self.admin_key:
            # Suites fire thousands of requests a minute through this key (the fuzzer, the waiters): its own limit
            # keeps them clear of the default 1,000 a minute, which tests/e2e/test_rate_limits.py tests on its own.
            self.admin_key = issue_key(self.settings, self.app_id, name="e2e admin", rate_limit=TEST_KEY_RATE_LIMIT)

    @property
    def settings(self) -> Settings:
        return self.system.settings

    def client(self, key: str | None = None, timeout: float = 30) -> httpx.Client:
        """A client of the API sending ``key`` (default: the app's admin key) on every request."""
        return httpx.Client(base_url=self.system.base_url, timeout=timeout, headers=bearer(key or self.admin_key))

    def async_client(self, key: str | None = None, timeout: float = 30) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.system.base_url, timeout=timeout, headers=bearer(key or self.admin_key))

    def producer_flags(self) -> list[str]:
        """``memstream produce`` flags of a producer credential that may write this system's turns topic."""
        password_file = self.system.logs / "producer.password"
        if self.producer is None:
            self.producer = unique("producer-")
            grant(self.settings, self.producer, generated_secret(password_file))
        return ["--username", self.producer, "--password-file", str(password_file)]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memstream_cli.main", *args],
            env={**os.environ, **self.settings.to_env()},
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )


def launch_run_command(settings: Settings, *flags: str, timeout: float = 300) -> tuple[subprocess.Popen[str], str]:
    """``memstream run`` with ``settings`` and ``flags``, and what it printed until it said it is running (or exited).
    The caller stops it (SIGINT)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "memstream_cli.main", "run", *flags],
        env={**os.environ, **settings.to_env()},
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any("Ctrl-C stops" in line for line in lines):
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
    return proc, "".join(lines)


@contextlib.contextmanager
def running_system(
    stack_settings: Settings, logs: Path, env: dict[str, str] | None = None, **overrides: Any
) -> Iterator[RunningSystem]:
    """The workers, projectors and API processes on isolated settings (with ``overrides``, e.g. ``stream_workers=3,
    projector_processes=2, api_processes=2, kafka_partitions=8``; ``env``: extra environment, e.g. MEMSTREAM_FAULTS),
    stopped afterwards."""
    counted = replace(isolated_settings(stack_settings), **overrides)
    # Every process on its own free port (metrics too, adapters/metrics.py), so systems never collide; instance k of a
    # component shifts its ports by (k - 1) strides, and balanced API processes sit 1..N strides above the balancer.
    ports = {
        "api_port": free_port_block(counted.api_processes if counted.api_processes > 1 else 0),
        "streams_metrics_port": free_port_block(counted.stream_workers - 1),
        "projections_metrics_port": free_port_block(counted.projector_processes - 1),
    }
    settings = replace(counted, **{**ports, **overrides})
    running = start_system(settings, logs, env=env)
    system: RunningSystem | None = None
    try:
        running.wait_ready()
        system = RunningSystem(running, unique("app-"))
        yield system
    finally:
        running.stop()
        if system is not None and system.producer is not None:
            revoke(settings, system.producer)
        if os.environ.get("MEMSTREAM_TEST_SHOW_LOGS"):
            for name in running.procs:
                print(f"--- {name} ---\n{running.log_tail(name, 5000)}")


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(stack_settings, tmp_path_factory.mktemp("logs")) as running:
        yield running
