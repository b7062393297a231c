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

``--text locomo`` loads real conversation text instead (``bench.search_corpus``: LoCoMo's turns through the
pipeline's own extractor and MiniLM, one conversation per user, about 1,360 memories each) and asks LoCoMo's
questions. ``--sustained N`` then runs N consecutive cache-missed searches on one API process and reports p50/p95
per block of ``--block`` (500): the client's time, the server's ``took_ms`` and each stage of ``timings_ms``, so
a slowdown over a long run (the thousandth search) shows as a block, not as a blur in one percentile.

    .venv/bin/python -m bench.search --memories 10000 100000 --users 100 --queries 300
    .venv/bin/python -m bench.search --memories 100000 --gateway on --metrics off on --rounds 2
    .venv/bin/python -m bench.search --text locomo --memories 100000 --gateway on --rounds 1 --sustained 5000
"""

from __future__ import annotations

import argparse
import os
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
from bench.search_corpus import locomo_events, locomo_questions
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
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import start_system
from models.embedder import build_embedder
from projections.base import Positioned, Projector
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


def load(settings: Settings, batches: list[list[Positioned]], count: int) -> dict[str, float]:
    postgres = PostgresProjector(settings.postgres_dsn, ("bench",), name="bench")
    milvus = MilvusProjector(MilvusClient(uri=settings.milvus_uri), settings.milvus_collection, 384, ("bench",))
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))
    neo4j = Neo4jProjector(driver, settings.neo4j_database, ("bench",), label_prefix=settings.neo4j_label_prefix)
    projectors: dict[str, Projector] = {"postgres": postgres, "milvus": milvus, "neo4j": neo4j}
    seconds = dict.fromkeys(projectors, 0.0)
    for batch in batches:
        for name, projector in projectors.items():
            started = time.perf_counter()
            projector.apply_batch(batch)
            seconds[name] += time.perf_counter() - started
    postgres.close()
    driver.close()
    return {f"{name}_memories_per_s": round(count / spent, 1) for name, spent in seconds.items()}


WARM_UP = 20  # the first queries warm the model, the pools, Neo4j's page cache and Milvus' segments


Body = dict[str, object]


def synthetic_bodies(users: int, count: int, seed: int = 11) -> list[Body]:
    rng = random.Random(seed)
    return [
        {"query": rng.choice(QUERIES), "user_id": f"user-{rng.randrange(users)}", "app_id": "bench"}
        for _ in range(count)
    ]


def locomo_bodies(users: int, count: int, seed: int = 11) -> list[Body]:
    return [
        {"query": q.query, "user_id": q.user_id, "app_id": "bench", "reference_time": q.reference_time}
        for q in locomo_questions(users, count, seed)
    ]


class Timed:
    """Searches through one API client, each answer's client time, ``took_ms`` and stages kept."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, body: Body) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        response = self.client.post("/v1/memories/search", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return elapsed, answer


def cache_missed(timed: Timed, bodies: list[Body]) -> dict[str, Any]:
    """Client time, server ``took_ms`` and every stage's percentiles over ``bodies`` searched with no cache."""
    client, server = [], []
    stages: dict[str, list[float]] = {}
    for body in bodies:
        elapsed, answer = timed({**body, "use_cache": False})
        client.append(elapsed)
        server.append(float(answer["took_ms"]))
        for stage, ms in answer.get("timings_ms", {}).items():
            stages.setdefault(stage, []).append(float(ms))
    return {
        "client": percentiles(client),
        "server_took": percentiles(server),
        "stages": {stage: percentiles(ms) for stage, ms in sorted(stages.items())},
    }


def measure(settings: Settings, base_url: str, bodies: list[Body]) -> dict[str, dict[str, Any]]:
    """The first WARM_UP bodies warm up; the rest are searched without, then (twice: fill, hit) with the cache."""
    with api_client(settings, base_url, "bench", timeout=30) as client:
        timed = Timed(client)
        cache_missed(timed, bodies[:WARM_UP])
        missed = cache_missed(timed, bodies[WARM_UP:])
        for body in bodies:  # fill the cache ...
            timed(body)
        hit, hits = [], 0
        for body in bodies[WARM_UP:]:  # ... then the same searches again
            elapsed, answer = timed(body)
            hit.append(elapsed)
            hits += bool(answer["cache_hit"])
    return {
        "cache_miss_stages": missed["stages"],
        "cache_miss_client": missed["client"],
        "cache_miss_server_took": missed["server_took"],
        "cache_hit_client": {**percentiles(hit), "hit_ratio": round(hits / max(len(hit), 1), 3)},
    }


def sustained(settings: Settings, base_url: str, bodies: list[Body], block: int) -> list[dict[str, Any]]:
    """Consecutive cache-missed searches on one API process, reported per block of ``block`` searches."""
    with api_client(settings, base_url, "bench", timeout=30) as client:
        timed = Timed(client)
        cache_missed(timed, bodies[:WARM_UP])
        searched = bodies[WARM_UP:]
        blocks = []
        for first in range(0, len(searched), block):
            figures = cache_missed(timed, searched[first : first + block])
            blocks.append({**figures, "load_1min": round(os.getloadavg()[0], 1)})  # at the block's end
        return blocks


GATEWAY_MODES = {"on": True, "off": False}


def measure_api(settings: Settings, bodies: list[Body], gateway: bool, metrics: bool) -> dict[str, Any]:
    """One API process on the loaded stores, with the gateway (authentication and rate limits) and the metrics on or
    off."""
    api_settings = replace(settings, auth_enabled=gateway, metrics_enabled=metrics)
    system = start_system(api_settings, Path(mkdtemp(prefix="bench-search-")), components=("api",))
    try:
        system.wait_ready()
        return measure(api_settings, system.base_url, bodies)
    finally:
        system.stop()


def sustained_api(
    settings: Settings, bodies: list[Body], block: int, pipeline: bool = False, code: Path | None = None
) -> list[dict[str, Any]]:
    """A fresh API process with the gateway and the metrics on, as deployed. ``pipeline``: the stream worker and the
    projectors run beside it on the same namespace, folding the accesses every search records (``MemoryAccessed``:
    access rows and counts in PostgreSQL, the lifecycle's state). ``code``: another checkout whose API code runs
    instead of this one (a before/after in one sitting, on the same loaded stores)."""
    api_settings = replace(settings, auth_enabled=True, metrics_enabled=True)
    components = ("streams", "projections", "api") if pipeline else ("api",)
    # PYTHONSAFEPATH: ``python -m api`` would put this checkout first on sys.path (its working directory).
    env = {"PYTHONSAFEPATH": "1", "PYTHONPATH": f"{code}:{code / 'sdk/python/src'}"} if code else None
    system = start_system(api_settings, Path(mkdtemp(prefix="bench-search-")), components=components, env=env)
    try:
        system.wait_ready()
        before = pipeline_counts(settings) if pipeline else {}
        blocks = sustained(api_settings, system.base_url, bodies, block)
        if pipeline:
            after = wait_for_accesses(settings, before, len(bodies))
            print(f"    the pipeline folded: {before} -> {after}", flush=True)
            blocks.append({"pipeline_before": before, "pipeline_after": after})
        return blocks
    finally:
        system.stop()


def pipeline_counts(settings: Settings) -> dict[str, int]:
    """What the projectors made of the searches' accesses so far: access rows, and accessed memories in
    PostgreSQL; and how far the user's cache epochs moved (every projector commit that could change a result)."""
    import psycopg
    from redis import Redis

    with psycopg.connect(settings.postgres_dsn) as conn:
        accesses = conn.execute("SELECT count(*) FROM memory_accesses").fetchone()
        accessed = conn.execute("SELECT count(*) FROM memories WHERE access_count > 0").fetchone()
    redis = Redis.from_url(settings.redis_url)
    bumps = 0
    for key in redis.scan_iter(f"{settings.redis_prefix}epoch:*"):
        bumps += sum(int(v) for k, v in redis.hgetall(key).items() if k.endswith(b":s"))
    return {
        "access_rows": int(accesses[0]) if accesses else 0,
        "accessed_memories": int(accessed[0]) if accessed else 0,
        "epoch_bumps": bumps,
    }


def wait_for_accesses(settings: Settings, before: dict[str, int], searches: int, limit: float = 300) -> dict[str, int]:
    """The counts once the projectors stopped moving (every access folded), or after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    last = pipeline_counts(settings)
    while time.monotonic() < deadline:
        time.sleep(5)
        now = pipeline_counts(settings)
        if now == last and now["access_rows"] > before["access_rows"]:
            return now
        last = now
    return last


def print_blocks(blocks: list[dict[str, Any]], block: int) -> None:
    for i, figures in enumerate(b for b in blocks if "client" in b):
        client, server, stages = figures["client"], figures["server_took"], figures["stages"]
        after = " ".join(
            f"{stage} {stages[stage]['p50_ms']}/{stages[stage]['p95_ms']}"
            for stage in ("rows", "positions", "ranking")
            if stage in stages
        )
        print(
            f"    searches {i * block + 1:>5}-{i * block + client['count']:<5} client p50 {client['p50_ms']} / p95 "
            f"{client['p95_ms']} ms; took_ms p50 {server['p50_ms']} / p95 {server['p95_ms']}; retrieval p50 "
            f"{stages.get('retrieval', {}).get('p50_ms')} / p95 {stages.get('retrieval', {}).get('p95_ms')} ms; "
            f"{after} (load {figures.get('load_1min')})",
            flush=True,
        )


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
    parser.add_argument(
        "--text", choices=["synthetic", "locomo"], default="synthetic", help="synthetic sentences or LoCoMo's turns"
    )
    parser.add_argument("--sustained", type=int, default=0, help="then N consecutive searches on one API process")
    parser.add_argument("--block", type=int, default=500, help="the sustained run's reporting block")
    parser.add_argument(
        "--pipeline", action="store_true", help="the sustained run with the stream worker and projectors running"
    )
    parser.add_argument(
        "--compare-with",
        type=Path,
        help="a checkout (e.g. a worktree at main) whose API runs the sustained searches too, alternating",
    )
    parser.add_argument("--sustained-rounds", type=int, default=1, help="sustained runs (per code, alternating)")
    args = parser.parse_args()
    base = load_settings()
    runs = []
    for count in args.memories:
        settings = replace(isolated_settings(base), api_port=18191)
        if args.text == "locomo":
            print(f"extracting and embedding {count} memories of LoCoMo text ...", flush=True)
            batches, users = locomo_events(count, build_embedder(settings), base.data_dir / "bench-vectors")
            bodies = locomo_bodies(users, args.queries + WARM_UP)
        else:
            batches, users = synthetic_events(count, args.users), args.users
            bodies = synthetic_bodies(users, args.queries + WARM_UP)
        print(f"loading {count} memories over {users} users ({args.text} text) ...", flush=True)
        load_rates = load(settings, batches, count)
        del batches
        blocks: list[dict[str, Any]] = []
        modes = [(gateway, metrics) for gateway in args.gateway for metrics in args.metrics]
        by_mode: dict[tuple[str, str], list[dict[str, Any]]] = {mode: [] for mode in modes}
        try:
            # Alternating modes on the same stores, so that neither gets the warmer caches.
            for _ in range(args.rounds):
                for gateway, metrics in modes:
                    by_mode[(gateway, metrics)].append(
                        measure_api(settings, bodies, GATEWAY_MODES[gateway], GATEWAY_MODES[metrics])
                    )
            if args.sustained:
                asked = (synthetic_bodies if args.text == "synthetic" else locomo_bodies)(
                    users, args.sustained + WARM_UP, seed=12
                )
                codes: list[Path | None] = [None] if args.compare_with is None else [args.compare_with, None]
                for turn in range(args.sustained_rounds):
                    for code in codes:
                        print(
                            f"{args.sustained} consecutive searches (gateway and metrics on, pipeline "
                            f"{'on' if args.pipeline else 'off'}), round {turn + 1}, code {code or PROJECT_ROOT}, "
                            f"blocks of {args.block}:",
                            flush=True,
                        )
                        run_blocks = sustained_api(settings, asked, args.block, args.pipeline, code)
                        print_blocks(run_blocks, args.block)
                        blocks.append({"code": str(code or PROJECT_ROOT), "round": turn + 1, "blocks": run_blocks})
        finally:
            MilvusClient(uri=settings.milvus_uri).drop_collection(settings.milvus_collection)
        if not args.rounds and blocks:  # the sustained runs only
            runs.append(
                {"memories": count, "text": args.text, "users": users, "load": load_rates, "sustained_blocks": blocks}
            )
        for (mode, metrics), rounds in by_mode.items():
            if not rounds:
                continue
            result = {
                figure: pooled(rounds, figure)
                for figure in ("cache_miss_client", "cache_miss_server_took", "cache_hit_client")
            }
            run = {
                "memories": count,
                "text": args.text,
                "users": users,
                "gateway": mode,
                "metrics": metrics,
                "load": load_rates,
                "rounds": rounds,
                **result,
            }
            runs.append(run)
            if blocks:
                run["sustained_blocks"] = blocks
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
