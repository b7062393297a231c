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
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# Run as a script, ``python bench/milvus_lite.py`` (its folder is then on sys.path) or ``python -P`` for each
# size's child (no folder is), this file finds its sibling through its own folder, appended last so that the
# milvus_lite package (imported by pymilvus for a .db URI) still comes before this file of the same name.
if __package__:  # python -m bench.milvus_lite, or imported as part of bench
    from bench.milvus_lite_measure import run_one
else:
    sys.path.append(str(Path(__file__).resolve().parent))
    from milvus_lite_measure import run_one


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
