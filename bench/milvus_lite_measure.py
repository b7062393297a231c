"""bench/milvus_lite.py's measurement of one size, run in that size's own child process: the project's
collection schema, the seeded data and its exact answers, timed inserts and filtered searches, peak RSS.

Apart from the entry module, which only starts one child per size and prints the table, so that what is
measured reads on its own. Standalone like it (pymilvus, numpy and the standard library only): it must
import in a venv that holds milvus-lite and nothing of the product.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient

COLLECTION = "bench_memories"
APP_ID = "app-bench"
AGENT_ID = "agent-1"
MODEL = "all-MiniLM-L6-v2"
# The same 75 % searchable as before "accessed" left the lifecycle (an accessed memory is Active).
STATES = ["active", "decaying", "archived", "deleted"]
STATE_WEIGHTS = [0.75, 0.1, 0.1, 0.05]
SEARCHABLE = ["active", "decaying"]
ID_MAX = 64
SCOPE_MAX = 256


# ── the collection ──────────────────────────────────────────────────────────────────────────────────────


def create_collection(client: MilvusClient, name: str, dim: int, index_type: str) -> None:
    if client.has_collection(name):
        client.drop_collection(name)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("memory_id", DataType.VARCHAR, max_length=ID_MAX, is_primary=True)
    schema.add_field("app_id", DataType.VARCHAR, max_length=SCOPE_MAX)
    schema.add_field("user_id", DataType.VARCHAR, max_length=SCOPE_MAX)
    schema.add_field("agent_id", DataType.VARCHAR, max_length=SCOPE_MAX)
    schema.add_field("run_id", DataType.VARCHAR, max_length=SCOPE_MAX)
    schema.add_field("state", DataType.VARCHAR, max_length=32)
    schema.add_field("occurred_at", DataType.INT64)
    schema.add_field("model", DataType.VARCHAR, max_length=128)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type=index_type, metric_type="COSINE")
    client.create_collection(name, schema=schema, index_params=index)
    client.load_collection(name)


# ── data ────────────────────────────────────────────────────────────────────────────────────────────────


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


class Dataset:
    def __init__(self, size: int, users: int, dim: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.vectors = unit_vectors(rng, size, dim)
        self.user_idx = rng.integers(0, users, size)
        self.state_idx = rng.choice(len(STATES), size=size, p=STATE_WEIGHTS)
        self.run_idx = rng.integers(0, 20, size)
        self.occurred_at = 1_760_000_000_000 + rng.integers(0, 90 * 86_400_000, size)
        self.size = size

    def rows(self, start: int, stop: int) -> list[dict[str, Any]]:
        vectors = self.vectors[start:stop].tolist()
        return [
            {
                "memory_id": f"m-{i:09d}",
                "app_id": APP_ID,
                "user_id": user_name(int(self.user_idx[i])),
                "agent_id": AGENT_ID,
                "run_id": f"run-{int(self.run_idx[i]):02d}",
                "state": STATES[int(self.state_idx[i])],
                "occurred_at": int(self.occurred_at[i]),
                "model": MODEL,
                "vector": vectors[i - start],
            }
            for i in range(start, stop)
        ]

    def exact(self, query: np.ndarray, user: int | None, limit: int) -> set[str]:
        """The true top `limit` ids by cosine (vectors are unit), optionally within the filter."""
        if user is None:
            candidates = np.arange(self.size)
        else:
            searchable = np.isin(self.state_idx, [STATES.index(s) for s in SEARCHABLE])
            candidates = np.nonzero((self.user_idx == user) & searchable)[0]
        scores = self.vectors[candidates] @ query
        top = candidates[np.argsort(-scores, kind="stable")[:limit]]
        return {f"m-{int(i):09d}" for i in top}


def user_name(i: int) -> str:
    return f"user-{i:03d}"


def scope_filter(user: int) -> str:
    states = ", ".join(f'"{s}"' for s in SEARCHABLE)
    return f'app_id == "{APP_ID}" and user_id == "{user_name(user)}" and state in [{states}]'


# ── measuring ───────────────────────────────────────────────────────────────────────────────────────────


def stats(samples_ms: list[float]) -> dict[str, Any]:
    if not samples_ms:
        return {"count": 0}
    arr = np.asarray(samples_ms)
    return {
        "count": len(samples_ms),
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "p99_ms": round(float(np.percentile(arr, 99)), 2),
        "mean_ms": round(float(arr.mean()), 2),
        "max_ms": round(float(arr.max()), 2),
    }


def search_phase(
    client: MilvusClient, data: Dataset, args: argparse.Namespace, seed: int, filtered: bool
) -> dict[str, Any]:
    """Warm-up, then timed searches until `--queries` are done or `--phase-budget` seconds have passed."""
    rng = np.random.default_rng(seed)
    total = args.warmup + args.queries
    queries = unit_vectors(rng, total, args.dim)
    users = rng.integers(0, args.users, total)
    warmup_ms: list[float] = []
    samples_ms: list[float] = []
    hits: list[int] = []
    recalls: list[float] = []
    started = time.perf_counter()
    for k in range(total):
        if time.perf_counter() - started > args.phase_budget:
            break
        user = int(users[k]) if filtered else None
        kwargs: dict[str, Any] = {"filter": scope_filter(user)} if user is not None else {}
        t0 = time.perf_counter()
        result = client.search(
            COLLECTION,
            data=[queries[k].tolist()],
            limit=args.limit,
            output_fields=["memory_id"],
            search_params={"metric_type": "COSINE"},
            **kwargs,
        )
        elapsed = (time.perf_counter() - t0) * 1000
        if k < args.warmup:
            warmup_ms.append(elapsed)
            continue
        samples_ms.append(elapsed)
        ids = {str(hit["entity"]["memory_id"]) for hit in result[0]}
        hits.append(len(ids))
        expected = data.exact(queries[k], user, args.limit)
        recalls.append(len(ids & expected) / max(len(expected), 1))
    return {
        **stats(samples_ms),
        "first_ms": round(warmup_ms[0], 2) if warmup_ms else None,
        "warmup": stats(warmup_ms),
        "truncated_by_budget": len(samples_ms) < args.queries,
        "mean_hits": round(float(np.mean(hits)), 1) if hits else None,
        "recall": round(float(np.mean(recalls)), 4) if recalls else None,
        "wall_s": round(time.perf_counter() - started, 2),
    }


def row_count(client: MilvusClient) -> int | None:
    try:
        return int(client.get_collection_stats(COLLECTION)["row_count"])
    except Exception:
        return None


def proc_status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def peak_rss_mib() -> dict[str, float]:
    """VmHWM (peak resident set) of this process and of its live descendants (2.5's server binary)."""
    me = proc_status_kib(os.getpid(), "VmHWM")
    kids = sum(proc_status_kib(p, "VmHWM") for p in descendants(os.getpid()))
    return {"self_mib": round(me / 1024, 1), "children_mib": round(kids / 1024, 1)}


# ── one size, in its own process ────────────────────────────────────────────────────────────────────────


def run_one(args: argparse.Namespace, size: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="milvus_lite_bench_"))
    try:
        return measure(args, size, args.uri or str(workdir / "x.db"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(args: argparse.Namespace, size: int, uri: str) -> dict[str, Any]:
    result: dict[str, Any] = {"size": size, "mode": "server" if args.uri else "embedded", "uri": uri}
    data = Dataset(size, args.users, args.dim, args.seed + size)
    result["dataset_mib"] = round(data.vectors.nbytes / 2**20, 1)
    t0 = time.perf_counter()
    client = MilvusClient(uri=uri)
    try:
        create_collection(client, COLLECTION, args.dim, args.index_type)
        result["open_create_s"] = round(time.perf_counter() - t0, 2)

        batch_ms: list[float] = []
        insert_s = 0.0
        wall0 = time.perf_counter()
        for start in range(0, size, args.batch):
            rows = data.rows(start, min(start + args.batch, size))
            t = time.perf_counter()
            client.insert(COLLECTION, rows)
            dt = time.perf_counter() - t
            insert_s += dt
            batch_ms.append(dt * 1000)
        wall = time.perf_counter() - wall0
        result["insert"] = {
            "rows": size,
            "batch": args.batch,
            "rows_per_s": round(size / insert_s),
            "rows_per_s_with_row_building": round(size / wall),
            "seconds": round(insert_s, 2),
            "batch_latency": stats(batch_ms),
        }

        result["fresh"] = {
            "filtered": search_phase(client, data, args, args.seed + 1, filtered=True),
            "unfiltered": search_phase(client, data, args, args.seed + 2, filtered=False),
        }

        t = time.perf_counter()
        client.flush(COLLECTION)
        result["flush_s"] = round(time.perf_counter() - t, 2)
        time.sleep(args.settle)
        result["row_count_after_flush"] = row_count(client)
        result["settled"] = {
            "how": f"after flush() ({result['flush_s']} s) and a {args.settle} s pause",
            "filtered": search_phase(client, data, args, args.seed + 3, filtered=True),
            "unfiltered": search_phase(client, data, args, args.seed + 4, filtered=False),
        }
        result["peak_rss"] = peak_rss_mib()
        if args.uri:
            client.drop_collection(COLLECTION)
    finally:
        client.close()
    return result
