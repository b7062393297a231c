"""Milvus Lite on its own: inserts and filtered searches on the project's collection schema.

Standalone on purpose (pymilvus, numpy and the standard library only), so the same file runs in a venv with
milvus-lite 2.5.x (C++ engine) and in one with milvus-lite 3.x (pure Python engine) and the two can be
compared on one machine (Python 3.11+). Each size runs in a fresh child process with a fresh data folder, so
peak RSS and caches belong to that size alone. The load average before each size is recorded: other work on
the machine skews the numbers.

For each size N: create the collection (the fields of projections/milvus/collection.py, FLAT index, COSINE),
insert N rows of seeded random unit 384-d vectors spread over U users in batches, then time

- "fresh": filtered searches right after the last insert returns (no flush, no pause);
- "settled": the same after ``flush()`` and a pause of ``--settle`` seconds;

each phase with a warm-up, then ``--queries`` filtered searches (a random user, the project's filter
``app_id == .. and user_id == .. and state in [..]``, limit 50) and as many unfiltered ones for reference.
Recall@limit against numpy's exact answer checks that the searches saw every row.

    .venv/bin/python bench/milvus_lite.py --out /tmp/milvus_lite.json
    .venv/bin/python bench/milvus_lite.py --sizes 10000 --uri http://127.0.0.1:19641 --out /tmp/served.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
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


# ── driver ──────────────────────────────────────────────────────────────────────────────────────────────


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in ("pymilvus", "milvus-lite", "numpy"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "absent"
    return found


def child_argv(args: argparse.Namespace, size: int, out: Path) -> list[str]:
    # -P: this file is named like the milvus_lite package, and a script's own folder would come first on
    # sys.path and shadow it when pymilvus imports milvus_lite for a .db URI.
    script = str(Path(__file__).resolve())
    argv = [sys.executable, "-P", script, "--child-size", str(size), "--child-out", str(out)]
    for flag in ("users", "batch", "queries", "warmup", "limit", "dim", "seed", "settle", "phase_budget"):
        argv += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
    argv += ["--index-type", args.index_type]
    if args.uri:
        argv += ["--uri", args.uri]
    return argv


def run_child(args: argparse.Namespace, size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="milvus_lite_bench_out_") as tmp:
        out = Path(tmp) / "result.json"
        started = time.perf_counter()
        proc = subprocess.Popen(child_argv(args, size, out), start_new_session=True)
        try:
            code = proc.wait(timeout=args.size_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"size": size, "error": f"timed out after {args.size_timeout} s"}
        if code != 0 or not out.exists():
            return {"size": size, "error": f"child exited with {code}"}
        result: dict[str, Any] = json.loads(out.read_text())
        result["child_wall_s"] = round(time.perf_counter() - started, 1)
        return result


def fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def table(body: dict[str, Any]) -> str:
    head = (
        f"milvus-lite {body['versions']['milvus-lite']}, pymilvus {body['versions']['pymilvus']}, "
        f"{body['machine']}; {body['params']['users']} users, batch {body['params']['batch']}, "
        f"limit {body['params']['limit']}, {body['params']['queries']} queries after {body['params']['warmup']} "
        "warm-up; times in ms"
    )
    cols = [
        "rows",
        "mode",
        "ins rows/s",
        "fresh first",
        "fresh filt p50",
        "p95",
        "recall",
        "fresh unfilt p50",
        "flush s",
        "settled filt p50",
        "p95",
        "recall",
        "settled unfilt p50",
        "RSS self+child MiB",
    ]
    lines = [head, " | ".join(cols), " | ".join("---" for _ in cols)]
    for run in body["runs"]:
        if "error" in run:
            lines.append(f"{run['size']} | error: {run['error']}")
            continue
        fresh, settled = run["fresh"], run["settled"]
        rss = run.get("peak_rss", {})

        def mark(phase: dict[str, Any], key: str) -> str:
            return fmt(phase.get(key)) + ("*" if phase.get("truncated_by_budget") else "")

        lines.append(
            " | ".join(
                [
                    str(run["size"]),
                    run["mode"],
                    str(run["insert"]["rows_per_s"]),
                    fmt(fresh["filtered"]["first_ms"]),
                    mark(fresh["filtered"], "p50_ms"),
                    fmt(fresh["filtered"].get("p95_ms")),
                    fmt(fresh["filtered"]["recall"]),
                    mark(fresh["unfiltered"], "p50_ms"),
                    fmt(run["flush_s"]),
                    mark(settled["filtered"], "p50_ms"),
                    fmt(settled["filtered"].get("p95_ms")),
                    fmt(settled["filtered"]["recall"]),
                    mark(settled["unfiltered"], "p50_ms"),
                    f"{fmt(rss.get('self_mib'))}+{fmt(rss.get('children_mib'))}",
                ]
            )
        )
    if "*" in "\n".join(lines[3:]):
        lines.append("* = fewer queries than asked: the phase hit --phase-budget (see count in the JSON)")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--index-type", default="FLAT")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after flush()")
    parser.add_argument("--phase-budget", type=float, default=90.0, help="seconds per search phase at most")
    parser.add_argument("--size-timeout", type=float, default=900.0, help="seconds per size at most")
    parser.add_argument("--uri", help="a running Milvus (Lite) server instead of embedded mode")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument("--child-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child_size is not None:
        result = run_one(args, args.child_size)
        args.child_out.write_text(json.dumps(result))
        return
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    body: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {mem_gib} GiB",
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if "child" not in k},
        "runs": [],
    }
    for size in args.sizes:
        print(f"-- {size} rows ...", file=sys.stderr, flush=True)
        load_before = [round(x, 2) for x in os.getloadavg()]
        run = run_child(args, size)
        run["loadavg_before"] = load_before
        run["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        body["runs"].append(run)
        if args.out:
            args.out.write_text(json.dumps(body, indent=2) + "\n")
    print(table(body))


if __name__ == "__main__":
    main()
