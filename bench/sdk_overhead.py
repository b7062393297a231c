"""What the Python SDK (``memstream_client.Memstream``) costs over raw httpx for a search, in one sitting.

Both clients send the same searches (same users, same queries, same order) to the same API process over one
keep-alive connection each (httpx's default pool, the same timeout), the raw one decoding the JSON to a dict, the
SDK to its typed results: the SDK's share is building the call, its retry bookkeeping and the typed parsing.
Rounds alternate which client goes first; within a round each client runs the queries with the cache off
(``use_cache: false``: a full hybrid search) and then on (a hit: the queries were searched once before, unmeasured).

By default the API is started here on synthetic memories loaded through the real projectors, as ``bench/search.py``
does (its namespace and key, ``bench.common``); ``--url`` measures a running API instead, with ``MEMSTREAM_API_KEY``
and the users named by ``--user-id`` (whose memories are whatever that API holds).

    .venv/bin/python -m bench.sdk_overhead --memories 10000 --queries 300 --rounds 4
    .venv/bin/python -m bench.sdk_overhead --url http://127.0.0.1:18080 --user-id alice --queries 100
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx
from memstream_client import Memstream
from pymilvus import MilvusClient

from adapters.settings_loader import load_settings
from bench.common import api_key, percentiles, write_results
from bench.search import QUERIES, load, synthetic_events
from memstream_cli.processes import start_system
from tests.support import bearer, isolated_settings

WARM_UP = 20
TIMEOUT_SECONDS = 30.0
CLIENTS = ("raw", "sdk")
CACHE_MODES = {"off": False, "on": True}


def searches(users: list[str], app_id: str | None, count: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    scope = {"app_id": app_id} if app_id else {}
    return [{"query": rng.choice(QUERIES), "user_id": rng.choice(users), **scope} for _ in range(count)]


def raw_search(client: httpx.Client) -> Callable[[dict[str, Any], bool], object]:
    def search(body: dict[str, Any], use_cache: bool) -> object:
        response = client.post("/v1/memories/search", json={**body, "use_cache": use_cache})
        response.raise_for_status()
        return response.json()

    return search


def sdk_search(client: Memstream) -> Callable[[dict[str, Any], bool], object]:
    def search(body: dict[str, Any], use_cache: bool) -> object:
        return client.search(body["query"], user_id=body["user_id"], app_id=body.get("app_id"), use_cache=use_cache)

    return search


def timed_ms(search: Callable[[dict[str, Any], bool], object], body: dict[str, Any], use_cache: bool) -> float:
    started = time.perf_counter()
    search(body, use_cache)
    return (time.perf_counter() - started) * 1000


def measure(base_url: str, key: str, bodies: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {c: {m: [] for m in CACHE_MODES} for c in CLIENTS}
    with (
        httpx.Client(base_url=base_url, timeout=TIMEOUT_SECONDS, headers=bearer(key)) as raw,
        Memstream(api_key=key, base_url=base_url, timeout=TIMEOUT_SECONDS) as sdk,
    ):
        run = {"raw": raw_search(raw), "sdk": sdk_search(sdk)}
        for name in CLIENTS:  # warm the connections, the model, the pools and the stores' caches
            for body in bodies[:WARM_UP]:
                run[name](body, False)
        for round_no in range(rounds):
            order = CLIENTS if round_no % 2 == 0 else CLIENTS[::-1]  # neither always goes first
            for mode, use_cache in CACHE_MODES.items():
                if use_cache:
                    for body in bodies:  # fill the cache, so that both measured passes are hits
                        run["raw"](body, True)
                for name in order:
                    samples[name][mode].extend(timed_ms(run[name], body, use_cache) for body in bodies)
    figures: dict[str, Any] = {
        name: {f"cache_{mode}": percentiles(ms) for mode, ms in by_mode.items()} for name, by_mode in samples.items()
    }
    figures["sdk_overhead_ms"] = {
        f"cache_{mode}": {
            stat: round(figures["sdk"][f"cache_{mode}"][stat] - figures["raw"][f"cache_{mode}"][stat], 2)
            for stat in ("p50_ms", "p95_ms")
        }
        for mode in CACHE_MODES
    }
    return figures


def report(figures: dict[str, Any], rounds: int) -> None:
    for mode in CACHE_MODES:
        raw, sdk = figures["raw"][f"cache_{mode}"], figures["sdk"][f"cache_{mode}"]
        extra = figures["sdk_overhead_ms"][f"cache_{mode}"]
        print(
            f"search, cache {mode:>3}: raw httpx p50 {raw['p50_ms']} ms, p95 {raw['p95_ms']} ms; "
            f"SDK p50 {sdk['p50_ms']} ms, p95 {sdk['p95_ms']} ms; SDK overhead p50 {extra['p50_ms']:+} ms, "
            f"p95 {extra['p95_ms']:+} ms ({sdk['count']} searches each over {rounds} alternating rounds)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--queries", type=int, default=300, help="searches per client, cache mode and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--url", help="a running API (MEMSTREAM_API_KEY); default: start one on synthetic memories")
    parser.add_argument("--user-id", nargs="+", help="with --url: whose memories to search")
    args = parser.parse_args()

    if args.url:
        key = os.environ.get("MEMSTREAM_API_KEY", "")
        if not key or not args.user_id:
            parser.error("--url needs MEMSTREAM_API_KEY and --user-id")
        bodies = searches(args.user_id, None, args.queries)
        figures = measure(args.url, key, bodies, args.rounds)
        report(figures, args.rounds)
        path = write_results("sdk_overhead", {"benchmark": "sdk_overhead", "api": args.url, **figures})
        print(f"wrote {path}")
        return

    settings = replace(isolated_settings(load_settings()), api_port=18192)
    print(f"loading {args.memories} memories over {args.users} users ...", flush=True)
    load_rates = load(settings, synthetic_events(args.memories, args.users), args.memories)
    system = start_system(settings, Path(mkdtemp(prefix="bench-sdk-")), components=("api",))
    try:
        system.wait_ready()
        bodies = searches([f"user-{n}" for n in range(args.users)], "bench", args.queries)
        figures = measure(system.base_url, api_key(settings, "bench"), bodies, args.rounds)
    finally:
        system.stop()
        MilvusClient(uri=settings.milvus_uri).drop_collection(settings.milvus_collection)
    report(figures, args.rounds)
    body = {
        "benchmark": "sdk_overhead",
        "memories": args.memories,
        "users": args.users,
        "queries": args.queries,
        "rounds": args.rounds,
        "load": load_rates,
        **figures,
    }
    path = write_results("sdk_overhead", body)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
