"""``GET /ready`` against the real stack: 200 when every store answers and the query model embeds; 503 naming the
ones that do not, within
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

from api.readiness import CHECKS, PROBE_TIMEOUT_SECONDS
from memory.settings import Settings
from memstream_cli.processes import start_system
from tests.e2e.conftest import RunningSystem, free_port
from tests.support import isolated_settings, wait_until


def test_ready_is_public_and_names_every_store(system: RunningSystem) -> None:
    with httpx.Client(base_url=system.system.base_url, timeout=30) as anonymous:  # no credential at all
        # Ready once the query model has loaded too (it loads in the background as the API starts).
        answer = wait_until(lambda: (r := anonymous.get("/ready")).status_code == 200 and r, timeout=120, what="ready")
        assert answer.json() == {"status": "ready", "checks": dict.fromkeys(CHECKS, "ok"), "unavailable": []}
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
            # An embedding endpoint that refuses connections: the model cannot embed a query.
            embedding_base_url=f"http://127.0.0.1:{closed_port}/v1",
        )
        # Only the API: it starts without Redis, Neo4j and the model (all reached lazily), and /health says it lives.
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
    assert body["unavailable"] == ["embedding_model", "neo4j", "redis"]
    assert body["checks"] == {"kafka": "ok", "postgres": "ok", "neo4j": "unreachable", "redis": "unreachable"} | {
        "milvus": "ok",
        "embedding_model": "unreachable",
    }
    assert "127.0.0.1" not in answer.text  # a public route: no addresses, no exception texts
    assert took < PROBE_TIMEOUT_SECONDS + 3, f"a hung store held the probe for {took:.1f}s"
