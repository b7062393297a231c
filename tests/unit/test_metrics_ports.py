"""Where each process serves its metrics (memory/settings.py, projections/wiring.py: metrics_port): the defaults
collide with no other port of the project, processes splitting the projectors between them get one port each, and
with metrics off nothing listens."""

from __future__ import annotations

import itertools
import socket
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
from memstream_client.integrations.mcp.config import DEFAULT_HTTP_PORT as MCP_HTTP_PORT

from adapters.kafka_auth import producer_bootstrap
from adapters.metrics import serve
from memory.settings import Settings
from projections.wiring import PROJECTION_NAMES, metrics_port

DEFAULTS = Settings()


def _port(address: str) -> int:
    port = urlsplit(address if "://" in address else f"//{address}").port
    assert port is not None, address
    return port


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_every_metrics_port_is_one_no_other_default_takes() -> None:
    kafka = _port(DEFAULTS.kafka_bootstrap)
    others = {
        "api": DEFAULTS.api_port,
        "memstream mcp --transport http": MCP_HTTP_PORT,
        "kafka": kafka,
        "kafka controller": kafka + 1,
        "producer door": _port(producer_bootstrap(DEFAULTS)),
        **{f"kafka region B +{i}": kafka + 10 + i for i in range(3)},  # docs/disaster-recovery.md
        "postgres": _port(DEFAULTS.postgres_dsn),
        "redis": _port(DEFAULTS.redis_url),
        "neo4j": _port(DEFAULTS.neo4j_uri),
        "milvus": _port(DEFAULTS.milvus_uri),
        **{f"bench API {p}": p for p in (18191, 18192, 18193, 18194)},  # bench/search, ingest, locomo, lifecycle
    }
    ours = {"streams": DEFAULTS.streams_metrics_port} | {
        f"projections {name}": metrics_port(DEFAULTS, [name]) for name in PROJECTION_NAMES
    }
    clashes = {(a, b) for (a, p), (b, q) in itertools.product(ours.items(), others.items()) if p == q}
    assert not clashes
    assert len(set(ours.values())) == len(ours)  # the worker and one process per store: each its own


def test_a_projections_process_serves_at_the_base_plus_its_first_store() -> None:
    base = DEFAULTS.projections_metrics_port
    assert metrics_port(DEFAULTS, list(PROJECTION_NAMES)) == base
    assert metrics_port(DEFAULTS, ["postgres"]) == base
    assert metrics_port(DEFAULTS, ["redis", "neo4j"]) == base + 2  # the first in the projectors' order
    assert metrics_port(DEFAULTS, ["milvus", "neo4j", "redis"]) == base + 1  # a DR standby (Helm's values)
    assert metrics_port(replace(DEFAULTS, projections_metrics_port=0), ["redis"]) == 0  # 0: none, whatever runs


def test_serve_listens_only_with_metrics_on() -> None:
    off = free_port()
    serve(replace(DEFAULTS, metrics_enabled=False), off, "test")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", off))  # nothing took it

    on = free_port()
    serve(DEFAULTS, on, "test")
    answer = httpx.get(f"http://127.0.0.1:{on}/metrics", timeout=5)
    assert answer.status_code == 200 and "memstream_events_consumed_total" in answer.text
