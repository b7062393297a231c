"""``GET /ready`` against the real stack: 200 when every store answers; 503 naming the ones that do not, within
about the probe's timeout even when a store accepts connections and never answers; public, like /health.

The stores that "fail" here are real endpoints of the kinds a deployment meets: a closed port (connection
refused) for Redis and a listener that accepts and stays silent (a hung store) for Neo4j. The shared stack's
services are never stopped.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx

from api.readiness import PROBE_TIMEOUT_SECONDS, STORES
from memory.settings import Settings
from memstream_cli.processes import start_system
from tests.e2e.conftest import RunningSystem, free_port
from tests.support import isolated_settings


def test_ready_is_public_and_names_every_store(system: RunningSystem) -> None:
    with httpx.Client(base_url=system.system.base_url, timeout=30) as anonymous:  # no credential at all
        answer = anonymous.get("/ready")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "ready", "checks": dict.fromkeys(STORES, "ok"), "unavailable": []}
        assert anonymous.get("/health").status_code == 200
        documented = anonymous.get("/schema/openapi.json").json()["paths"]["/ready"]["get"]["responses"]
        assert {"200", "503"} <= set(documented)


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never sends a byte: what a hung store looks like to a client."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


def test_ready_is_503_naming_the_stores_that_do_not_answer(stack_settings: Settings, tmp_path: Path) -> None:
    closed_port = free_port()  # nothing listens there: connection refused
    with silent_listener() as hung_port:
        settings = replace(
            isolated_settings(stack_settings),
            api_port=free_port(),
            redis_url=f"redis://127.0.0.1:{closed_port}/0",
            neo4j_uri=f"bolt://127.0.0.1:{hung_port}",
        )
        # Only the API: it starts without Redis and Neo4j (both are reached lazily), and /health says it lives.
        api = start_system(settings, tmp_path, components=("api",))
        try:
            api.wait_ready()
            with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
                started = time.monotonic()
                answer = anonymous.get("/ready")
                took = time.monotonic() - started
                assert anonymous.get("/health").status_code == 200  # alive, only not ready: nothing restarts it
        finally:
            api.stop()
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == "not ready"
    assert body["unavailable"] == ["neo4j", "redis"]
    assert body["checks"] == {"kafka": "ok", "postgres": "ok", "neo4j": "unreachable", "redis": "unreachable"} | {
        "milvus": "ok"
    }
    assert "127.0.0.1" not in answer.text  # a public route: no addresses, no exception texts
    assert took < PROBE_TIMEOUT_SECONDS + 3, f"a hung store held the probe for {took:.1f}s"
