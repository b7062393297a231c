"""Search latency through the real API with N memories spread over U users.

Memories are synthetic sentences with seeded random unit vectors and their entities, loaded through the
real PostgreSQL, Milvus and Neo4j projectors (what hybrid search reads). Queries are real sentences (names,
time expressions, topics) embedded by the API with MiniLM, so a search's cost is what a user pays: HTTP,
query embedding, the four retrievers (dense, sparse, graph, temporal), fusion, ranking, rows.
Cache misses are measured with ``use_cache: false``; cache hits by repeating a query set that was just
searched once with the cache on. Each measurement runs with the gateway (authentication and the Redis rate
limiter; the key's limit is never reached, but every request is counted) on and off, alternating on the same
loaded stores, so the gateway's cost is read in one sitting. ``--metrics on off`` does the same for the Prometheus
metrics (``MEMSTREAM_METRICS_ENABLED``: the request timer, the search's retriever histograms and cache counters, and
``/metrics``), so their cost is read in one sitting too.

    .venv/bin/python -m bench.search --memories 10000 100000 --users 100 --queries 300
    .venv/bin/python -m bench.search --memories 100000 --gateway on --metrics off on --rounds 2
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import numpy as np
from neo4j import GraphDatabase
from pymilvus import MilvusClient

from adapters.settings_loader import load_settings
from bench.common import api_client, percentiles, write_results
from memory.contract.events import (
    EntitiesLinked,
    Entity,
    Envelope,
    MemoryActivated,
    MemoryEmbedded,
    MemoryExtracted,
    Producer,
    Scope,
)
from memory.contract.ids import entity_id_for
from memory.contract.positions import LogPosition
from memory.settings import Settings
from memstream_cli.processes import start_system
from projections.base import Positioned
from projections.milvus.projector import MilvusProjector
from projections.neo4j.projector import Neo4jProjector
from projections.postgres.projector import PostgresProjector
from tests.support import isolated_settings

SUBJECTS = ["I", "My sister", "My partner", "My boss", "Our team", "My friend Sam", "My neighbour"]
VERBS = ["love", "started", "visited", "booked", "cancelled", "recommended", "finished", "planned", "bought"]
OBJECTS = [
    "a trip to Lisbon",
    "the pottery class",
    "black coffee",
    "a new laptop",
    "the marathon in Berlin",
    "a vegan restaurant",
    "the book about Rome",
    "climbing lessons",
    "a flight to Tokyo",
    "the jazz concert",
    "the dentist appointment",
    "a puppy named Rex",
    "the project deadline",
    "tennis on Sundays",
    "a cabin in Norway",
]
WHEN = ["last week", "yesterday", "in May", "every Saturday", "two years ago", "next month", "this morning"]
QUERIES = [
    "What does the user like to drink?",
    "trips the user planned",
    "Where did they travel last year?",
    "Tell me about the pet",
    "What sports does the user do?",
    "upcoming appointments",
    "Which restaurant was recommended?",
    "What is the project deadline?",
    "music events",
    "books they read",
    "What do I know about Lisbon?",
    "Did Sam recommend anything?",
    "What happened last week?",
    "plans for Tokyo in May 2025",
    "When did we visit Norway?",
]
# Capitalised words of the objects and subjects become entities, as the rules extractor would make them.
NAMES = ("Lisbon", "Berlin", "Rome", "Tokyo", "Norway", "Rex", "Sam")


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}."


def entities_of(text: str, scope: Scope) -> tuple[Entity, ...]:
    names = ["User", *(n for n in NAMES if n in text)]
    return tuple(Entity(entity_id_for(scope.key, n), n, "person") for n in names)


def synthetic_events(count: int, users: int, seed: int = 7) -> list[list[Positioned]]:
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    batches: list[list[Positioned]] = []
    batch: list[Positioned] = []
    offset = 0
    for i in range(count):
        scope = Scope("bench", f"user-{i % users}")
        at = t0 + timedelta(minutes=i)

        def env(kind: str, i: int = i, scope: Scope = scope, at: datetime = at) -> Envelope:
            return Envelope(f"{kind}-{i}", kind, 1, scope, at, at, None, None, Producer("bench"))

        memory_id = f"bench-{i:07d}"
        text = sentence(rng)
        for event in (
            MemoryExtracted(env("MemoryExtracted"), memory_id, text, "fact", (), (), 0.5, "bench"),
            EntitiesLinked(env("EntitiesLinked"), memory_id, entities_of(text, scope), ()),
            MemoryEmbedded(env("MemoryEmbedded"), memory_id, "synthetic", tuple(vectors[i].tolist())),
            MemoryActivated(env("MemoryActivated"), memory_id),
        ):
            batch.append(Positioned(event, LogPosition("bench", 0, offset)))
            offset += 1
        if len(batch) >= 3000:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    return batches


def load(settings: Settings, count: int, users: int) -> dict[str, float]:
    postgres = PostgresProjector(settings.postgres_dsn, ("bench",), name="bench")
    milvus = MilvusProjector(MilvusClient(uri=settings.milvus_uri), settings.milvus_collection, 384, ("bench",))
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))
    neo4j = Neo4jProjector(driver, settings.neo4j_database, ("bench",), label_prefix=settings.neo4j_label_prefix)
    projectors = {"postgres": postgres, "milvus": milvus, "neo4j": neo4j}
    seconds = dict.fromkeys(projectors, 0.0)
    for batch in synthetic_events(count, users):
        for name, projector in projectors.items():
            started = time.perf_counter()
            projector.apply_batch(batch)
            seconds[name] += time.perf_counter() - started
    postgres.close()
    driver.close()
    return {f"{name}_memories_per_s": round(count / spent, 1) for name, spent in seconds.items()}


WARM_UP = 20  # the first queries warm the model, the pools, Neo4j's page cache and Milvus' segments


def measure(settings: Settings, base_url: str, users: int, queries: int, seed: int = 11) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    bodies = [
        {"query": rng.choice(QUERIES), "user_id": f"user-{rng.randrange(users)}", "app_id": "bench"}
        for _ in range(queries + WARM_UP)
    ]
    with api_client(settings, base_url, "bench", timeout=30) as client:

        def timed(body: dict[str, object]) -> tuple[float, dict[str, object]]:
            started = time.perf_counter()
            response = client.post("/v1/memories/search", json=body)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            answer: dict[str, object] = response.json()
            return elapsed, answer

        miss, miss_server = [], []
        stages: dict[str, list[float]] = {}
        for i, body in enumerate(bodies):
            elapsed, answer = timed({**body, "use_cache": False})
            if i >= WARM_UP:
                miss.append(elapsed)
                miss_server.append(float(answer["took_ms"]))  # type: ignore[arg-type]
                for stage, ms in answer.get("timings_ms", {}).items():  # type: ignore[attr-defined]
                    stages.setdefault(stage, []).append(float(ms))
        for body in bodies:  # fill the cache ...
            timed(body)
        hit, hits = [], 0
        for body in bodies[WARM_UP:]:  # ... then the same searches again
            elapsed, answer = timed(body)
            hit.append(elapsed)
            hits += bool(answer["cache_hit"])
    return {
        "cache_miss_stages": {stage: percentiles(ms) for stage, ms in sorted(stages.items())},
        "cache_miss_client": percentiles(miss),
        "cache_miss_server_took": percentiles(miss_server),
        "cache_hit_client": {**percentiles(hit), "hit_ratio": round(hits / max(len(hit), 1), 3)},
    }


GATEWAY_MODES = {"on": True, "off": False}


def measure_api(settings: Settings, users: int, queries: int, gateway: bool, metrics: bool) -> dict[str, Any]:
    """One API process on the loaded stores, with the gateway (authentication and rate limits) and the metrics on or
    off."""
    api_settings = replace(settings, auth_enabled=gateway, metrics_enabled=metrics)
    system = start_system(api_settings, Path(mkdtemp(prefix="bench-search-")), components=("api",))
    try:
        system.wait_ready()
        return measure(api_settings, system.base_url, users, queries)
    finally:
        system.stop()


def pooled(rounds: list[dict[str, Any]], figure: str) -> dict[str, float]:
    """Each figure's median over the rounds (every round is a fresh API process, warmed up, then measured)."""
    keys = rounds[0][figure].keys()
    return {k: round(float(np.median([r[figure][k] for r in rounds])), 2) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--gateway",
        nargs="+",
        choices=sorted(GATEWAY_MODES),
        default=["off", "on"],
        help="measure with authentication and rate limits on and/or off, on the same loaded stores",
    )
    parser.add_argument(
        "--metrics",
        nargs="+",
        choices=sorted(GATEWAY_MODES),
        default=["on"],
        help="measure with the Prometheus metrics on and/or off, on the same loaded stores",
    )
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per gateway and metrics mode")
    args = parser.parse_args()
    base = load_settings()
    runs = []
    for count in args.memories:
        settings = replace(isolated_settings(base), api_port=18191)
        print(f"loading {count} memories over {args.users} users ...", flush=True)
        load_rates = load(settings, count, args.users)
        modes = [(gateway, metrics) for gateway in args.gateway for metrics in args.metrics]
        by_mode: dict[tuple[str, str], list[dict[str, Any]]] = {mode: [] for mode in modes}
        try:
            # Alternating modes on the same stores, so that neither gets the warmer caches.
            for _ in range(args.rounds):
                for gateway, metrics in modes:
                    by_mode[(gateway, metrics)].append(
                        measure_api(
                            settings, args.users, args.queries, GATEWAY_MODES[gateway], GATEWAY_MODES[metrics]
                        )
                    )
        finally:
            MilvusClient(uri=settings.milvus_uri).drop_collection(settings.milvus_collection)
        for (mode, metrics), rounds in by_mode.items():
            result = {
                figure: pooled(rounds, figure)
                for figure in ("cache_miss_client", "cache_miss_server_took", "cache_hit_client")
            }
            run = {
                "memories": count,
                "users": args.users,
                "gateway": mode,
                "metrics": metrics,
                "load": load_rates,
                "rounds": rounds,
                **result,
            }
            runs.append(run)
            miss, server, hit = (
                result["cache_miss_client"],
                result["cache_miss_server_took"],
                result["cache_hit_client"],
            )
            print(
                f"{count:>7} memories, gateway {mode:>3}, metrics {metrics:>3}: hybrid search (cache missed) "
                f"p50 {miss['p50_ms']} ms, "
                f"p95 {miss['p95_ms']} ms (server p50 {server['p50_ms']} ms); cache hit p50 {hit['p50_ms']} ms, "
                f"p95 {hit['p95_ms']} ms (hit ratio {hit['hit_ratio']}); median of {len(rounds)} rounds; "
                f"load {load_rates}",
                flush=True,
            )
            for stage, figures in rounds[-1]["cache_miss_stages"].items():
                print(f"    {stage:>10}: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms", flush=True)
    path = write_results("search", {"benchmark": "search", "runs": runs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
