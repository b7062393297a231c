"""`memstream run` (what `make run` calls) brings the system up, prints where it is and the producer credential it
keeps, and stops it on a signal."""

from __future__ import annotations

import re
import signal
import stat
import subprocess
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import httpx

from adapters.kafka_auth import producer_bootstrap
from adapters.producer_door import make_door_producer
from memory.settings import PROJECT_ROOT, Settings
from tests.e2e.conftest import free_port, launch_run_command
from tests.support import isolated_settings, wait_until


def test_run_starts_everything_and_a_signal_stops_what_it_started(stack_settings: Settings, tmp_path: Path) -> None:
    # The admin key file of this run's own key table (the shared data dir's belongs to the developer's system).
    key_file = tmp_path / "secrets" / "default-admin.key"
    # Metrics on, as `memstream run` starts them by default, each process on its own port (the defaults' stand-ins).
    settings = replace(
        isolated_settings(stack_settings),
        api_port=free_port(),
        admin_key_file=str(key_file),
        streams_metrics_port=free_port(),
        projections_metrics_port=free_port(),
    )
    proc, output = launch_run_command(settings, timeout=120)
    base = f"http://{settings.api_host}:{settings.api_port}"
    try:
        assert "memstream is running" in output, output
        assert f"{base}/schema/swagger" in output
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        assert httpx.get(f"{base}/schema/openapi.json").status_code == 200
        # The admin key of the default app: printed, kept private in the file, and it opens the API.
        key = key_file.read_text().strip()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert f"API key:      {key}" in output
        curl = re.search(r"try it: +(curl .*)", output)
        assert curl and f'"Authorization: Bearer $(cat {key_file})"' in curl.group(1) and base in curl.group(1)
        alice = {"user_id": "alice"}
        assert httpx.get(f"{base}/v1/memories", params=alice).status_code == 401
        with_key = httpx.get(f"{base}/v1/memories", params=alice, headers={"Authorization": f"Bearer {key}"})
        assert with_key.status_code == 200, with_key.text
        # The producer door: the printed credential writes the turns topic through the producer listener.
        door = re.search(r"producers: +(\S+) \(SASL_PLAINTEXT, SCRAM-SHA-512\), user (\S+), password in (\S+);", output)
        assert door, output
        assert door.group(1) == producer_bootstrap(settings)
        password = (PROJECT_ROOT / door.group(3)).read_text().strip()
        make_door_producer(settings, door.group(2), password).check(settings.topics.turns)
        assert f"memstream produce --username {door.group(2)} --password-file {door.group(3)}" in output
        # Every process it started serves its own metrics, at the addresses it printed.
        printed = re.search(r"metrics: +API (\S+), worker (\S+), projectors (\S+)\n", output)
        assert printed, output
        metrics = printed.groups()
        assert metrics == (
            f"{base}/metrics",
            f"http://{settings.metrics_host}:{settings.streams_metrics_port}/metrics",
            f"http://{settings.metrics_host}:{settings.projections_metrics_port}/metrics",
        )

        def serving(url: str) -> bool:
            try:
                return "memstream_consumer_lag" in httpx.get(url, timeout=5).text
            except httpx.HTTPError:
                return False

        for url in metrics:  # the worker's server starts once its app is built, after the API may be ready
            wait_until(partial(serving, url), timeout=60, what=f"metrics at {url}")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0

    def api_gone() -> bool:
        try:
            httpx.get(f"{base}/health", timeout=1)
            return False
        except httpx.HTTPError:
            return True

    wait_until(api_gone, timeout=10, what="the API to stop")
    # The stack was already running before, so it is left running.
    status = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py"), "status"], capture_output=True
    )
    assert status.returncode == 0
