"""Shared by the benchmarks: fixed namespaces, expected memory counts, percentiles, and the results file."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from memory.contract.events import ConversationTurnReceived
from memory.ingest.extraction import extract_facts
from memory.ingest.extraction_types import TurnInput
from memory.settings import PROJECT_ROOT, Settings, Topics
from tests.support import bearer, create_schema, issue_key

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
# Benchmarks measure the system, not the limiter's refusals: their keys allow a billion requests a minute (they are
# still counted, so the limiter's cost is in every figure).
BENCH_RATE_LIMIT = 1_000_000_000


def api_key(settings: Settings, app_id: str) -> str:
    """A new admin key of ``app_id`` in the key table of these settings (the benchmark's own namespace)."""
    return issue_key(settings, app_id, rate_limit=BENCH_RATE_LIMIT, name="bench")


def api_client(
    settings: Settings, base_url: str, app_id: str, timeout: float, key: str | None = None
) -> httpx.Client:
    """A client of the API that sends ``key`` (default: a new ``api_key``) on every request."""
    return httpx.Client(base_url=base_url, timeout=timeout, headers=bearer(key or api_key(settings, app_id)))


def namespace_settings(base: Settings, name: str, **overrides: Any) -> Settings:
    """Like ``tests.support.isolated_settings``, but the namespace is a function of ``name``: a later run with
    the same name finds the same topics, stores and consumer groups, so it can reuse what an earlier one
    ingested (and the worker and projectors resume from their committed offsets instead of starting over)."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:24]
    # The hash keeps two names that sanitise alike ("a-b", "a.b") apart; the slug keeps it readable.
    tag = f"bench_{slug}_{hashlib.sha1(name.encode()).hexdigest()[:6]}"
    return replace(
        base,
        topics=Topics(
            turns=f"bench.{tag}.turns",
            commands=f"bench.{tag}.commands",
            memories=f"bench.{tag}.memories",
            deadletter=f"bench.{tag}.deadletter",
        ),
        postgres_dsn=create_schema(base.postgres_dsn, tag),
        milvus_collection=f"mem_{tag}",
        neo4j_label_prefix=f"{tag.capitalize()}_",
        redis_prefix=f"bench:{tag}:",
        faust_app_id=f"memstream-{tag}",
        consumer_group_prefix=f"memstream-{tag}",
        **overrides,
    )


def expected_memories(turns: Iterable[ConversationTurnReceived]) -> int:
    """How many memories the pipeline's default (rule-based) extraction makes of these turns: the same pure
    function the worker runs, so the count is exact; a verbatim turn is always one memory."""
    return sum(len(extract_facts(TurnInput(t.role, t.speaker or "", t.text))) if t.infer else 1 for t in turns)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {"count": 0}
    arr = np.asarray(samples_ms)
    return {
        "count": len(samples_ms),
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "p99_ms": round(float(np.percentile(arr, 99)), 2),
        "mean_ms": round(float(arr.mean()), 2),
    }


def provenance() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
    )
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit + ("+dirty" if dirty else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {mem_gib} GiB, {platform.platform()}",
        "python": platform.python_version(),
    }


def write_results(name: str, body: dict[str, Any], started: dict[str, Any] | None = None) -> Path:
    """``started``: the provenance taken when the run began, for runs long enough that the commit may move
    under them (the processes measured run the code that was checked out when they started)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"provenance": started or provenance(), **body}, indent=2, default=str) + "\n")
    return path


# SQL: a memory (row of ``memories``) that repeated another and reinforced it instead: it stays "stored" for
# good, so a benchmark waiting for the pipeline to settle counts it as done, not pending.
REINFORCED_REPEAT = (
    "EXISTS (SELECT 1 FROM memory_lineage l WHERE l.relation = 'reinforces'"
    " AND l.from_memory_id = memories.memory_id)"
)
