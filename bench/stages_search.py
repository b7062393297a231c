"""Search as a stage: latency and searches per second of one API process, and the CPU it spends per search.

The stores are loaded the way ``bench.search`` loads them (synthetic memories with entities and vectors,
through the real PostgreSQL, Milvus and Neo4j projectors), then one API process (``python -m api``, one
uvicorn worker, one event loop) answers:

- one client at a time: the latency a user sees (cache missed);
- ``concurrency`` clients at once for ``seconds``: the searches/s the process sustains, cache missed and cache
  hit. The API process's own CPU time divided by the searches it answered is its cost per search, so
  ``1 / cost`` is the rate one core of API gives; the stores' CPU per search (each service's process tree,
  ``bench.cpu``) is what sizes them. On this 2-core machine the stores, the clients and the neighbours share
  the cores with the API, which is why the measured searches/s is below the per-core figure.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

from redis import Redis

from bench.common import api_client, api_key, percentiles
from bench.cpu import CpuMeter, process_cpu
from bench.search import QUERIES, WARM_UP, load, synthetic_events
from memory.settings import Settings
from memstream_cli.processes import System, start_system
from projections.redis.keys import glob_escaped

STORES = ("postgres", "neo4j", "milvus", "redis")


def bodies(users: int, count: int, seed: int, use_cache: bool) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "query": rng.choice(QUERIES),
            "user_id": f"user-{rng.randrange(users)}",
            "app_id": "bench",
            "use_cache": use_cache,
        }
        for _ in range(count)
    ]


class SearchStage:
    """One API process on stores holding ``memories`` memories of ``users`` users."""

    def __init__(self, settings: Settings, memories: int, users: int):
        self.settings = replace(settings, api_port=settings.api_port + 7)  # beside the stack's own API
        self.users = users
        print(f"  loading {memories} memories over {users} users for search ...", flush=True)
        self.load_rates = load(self.settings, synthetic_events(memories, users), memories)
        self.system: System = start_system(self.settings, Path(mkdtemp(prefix="bench-stages-")), components=("api",))
        self.system.wait_ready()
        self.key = api_key(self.settings, "bench")
        self.pid = self.system.procs["api"].pid
        self.meter = CpuMeter(self.settings)
        with api_client(self.settings, self.system.base_url, "bench", 30, self.key) as client:
            for body in bodies(users, WARM_UP, 3, use_cache=False):
                client.post("/v1/memories/search", json=body).raise_for_status()

    def close(self) -> None:
        self.system.stop()

    def cache_entry_bytes(self, sample: int = 100) -> dict[str, float]:
        """What one cached search answer takes in Redis (``MEMORY USAGE``: value, key and overhead), over a
        sample of the entries the cache-hit runs filled: the figure the cache's sizing multiplies."""
        client = Redis.from_url(self.settings.redis_url)
        try:
            pattern = f"{glob_escaped(self.settings.redis_prefix)}search:*"
            keys = [key for _, key in zip(range(sample), client.scan_iter(match=pattern, count=500), strict=False)]
            sizes = [int(client.memory_usage(key) or 0) for key in keys]
        finally:
            client.close()
        return {"entries_sampled": len(sizes), "mean_bytes": round(sum(sizes) / len(sizes), 1) if sizes else 0.0}

    def sequential(self, queries: int, seed: int) -> dict[str, Any]:
        """One client, cache missed: the latency of a search on an otherwise idle API."""
        samples: list[float] = []
        cpu_before, stores_before = process_cpu(self.pid), self.meter.take()
        with api_client(self.settings, self.system.base_url, "bench", 30, self.key) as client:
            for body in bodies(self.users, queries, seed, use_cache=False):
                started = time.perf_counter()
                client.post("/v1/memories/search", json=body).raise_for_status()
                samples.append((time.perf_counter() - started) * 1000)
        api_cpu = process_cpu(self.pid) - cpu_before
        stores = self.stores_ms_per_search(stores_before, queries)
        return {**percentiles(samples), "api_cpu_ms_per_search": round(1000 * api_cpu / queries, 2), **stores}

    def stores_ms_per_search(self, before: Any, searches: int) -> dict[str, float]:
        spent = CpuMeter.spent(before, self.meter.take())
        return {f"{name}_cpu_ms_per_search": round(1000 * spent[name] / max(searches, 1), 2) for name in STORES}

    def concurrent(self, concurrency: int, seconds: float, seed: int, use_cache: bool) -> dict[str, Any]:
        """``concurrency`` clients searching back to back for ``seconds``. With the cache on, the query set is
        searched once first, so what is timed are hits."""
        query_set = bodies(self.users, 200, seed, use_cache)
        if use_cache:
            with api_client(self.settings, self.system.base_url, "bench", 30, self.key) as client:
                for body in query_set:
                    client.post("/v1/memories/search", json=body).raise_for_status()
        samples: list[list[float]] = [[] for _ in range(concurrency)]
        errors: list[str] = []
        stop = threading.Event()

        def client_loop(index: int) -> None:
            with api_client(self.settings, self.system.base_url, "bench", 30, self.key) as client:
                i = index
                while not stop.is_set():
                    started = time.perf_counter()
                    response = client.post("/v1/memories/search", json=query_set[i % len(query_set)])
                    if response.status_code != 200:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                        return
                    samples[index].append((time.perf_counter() - started) * 1000)
                    i += concurrency

        threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(concurrency)]
        cpu_before, stores_before, started = process_cpu(self.pid), self.meter.take(), time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.perf_counter() - started
        api_cpu = process_cpu(self.pid) - cpu_before
        stores = self.stores_ms_per_search(stores_before, sum(map(len, samples)))
        if errors:
            raise RuntimeError(f"searches failed: {errors[:3]}")
        done = [ms for per_client in samples for ms in per_client]
        return {
            **percentiles(done),
            "searches_per_s": round(len(done) / elapsed, 1),
            "api_cpu_share": round(api_cpu / elapsed, 2),  # cores the API process kept busy
            "api_cpu_ms_per_search": round(1000 * api_cpu / max(len(done), 1), 2),
            "api_searches_per_core_s": round(len(done) / api_cpu, 1) if api_cpu else 0.0,
            **stores,
        }
