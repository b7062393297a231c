"""Search latency through the real API with N memories spread over U users.

Memories are synthetic sentences with seeded random unit vectors, loaded through the real PostgreSQL and
Milvus projectors (search reads only those two). Queries are real sentences embedded by the API with
MiniLM, so a search's cost is what a user pays: HTTP, query embedding, both retrievers, fusion, rows.

    .venv/bin/python -m bench.search --memories 10000 100000 --users 100 --queries 300
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp

import httpx
import numpy as np
from pymilvus import MilvusClient

from bench.common import percentiles, write_results
from memory.events import Envelope, MemoryActivated, MemoryEmbedded, MemoryExtracted, Producer, Scope
from memory.positions import LogPosition
from memory.settings import Settings
from memstream_cli.processes import start_system
from projections.base import Positioned
from projections.milvus.projector import MilvusProjector
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
]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}."


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
        for event in (
            MemoryExtracted(env("MemoryExtracted"), memory_id, sentence(rng), "fact", (), (), 0.5, "bench"),
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
    timings = {"postgres_s": 0.0, "milvus_s": 0.0}
    for batch in synthetic_events(count, users):
        started = time.perf_counter()
        postgres.apply_batch(batch)
        timings["postgres_s"] += time.perf_counter() - started
        started = time.perf_counter()
        milvus.apply_batch(batch)
        timings["milvus_s"] += time.perf_counter() - started
    postgres.close()
    return {
        "postgres_rows_per_s": round(count / timings["postgres_s"], 1),
        "milvus_rows_per_s": round(count / timings["milvus_s"], 1),
    }


def measure(base_url: str, users: int, queries: int, seed: int = 11) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    latencies: list[float] = []
    server: list[float] = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(queries + 20):
            body = {"query": rng.choice(QUERIES), "user_id": f"user-{rng.randrange(users)}", "app_id": "bench"}
            started = time.perf_counter()
            response = client.post("/v1/memories/search", json=body)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if i >= 20:  # the first queries warm the model, the pool and Milvus' segment cache
                latencies.append(elapsed)
                server.append(response.json()["took_ms"])
    return {"client": percentiles(latencies), "server_took": percentiles(server)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    base = Settings.from_env()
    runs = []
    for count in args.memories:
        settings = replace(isolated_settings(base), api_port=18191)
        print(f"loading {count} memories over {args.users} users ...", flush=True)
        load_rates = load(settings, count, args.users)
        system = start_system(settings, Path(mkdtemp(prefix="bench-search-")), components=("api",))
        try:
            system.wait_ready()
            result = measure(system.base_url, args.users, args.queries)
        finally:
            system.stop()
            MilvusClient(uri=settings.milvus_uri).drop_collection(settings.milvus_collection)
        run = {"memories": count, "users": args.users, "load": load_rates, **result}
        runs.append(run)
        client, server = result["client"], result["server_took"]
        print(
            f"{count:>7} memories: search p50 {client['p50_ms']} ms, p95 {client['p95_ms']} ms "
            f"(server p50 {server['p50_ms']} ms); load {load_rates}",
            flush=True,
        )
    path = write_results("search", {"benchmark": "search", "runs": runs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
