"""Per-core rates of every stage of the pipeline, the figures ``docs/scaling.md`` does its arithmetic with.

- extraction: the extraction agent's work on LoCoMo turns (offline rules extractor), in process, one core;
- embedding: the embedding agent's work on the memories extraction made (MiniLM int8 ONNX, one onnxruntime
  thread, the agent's batch of ``embed_batch_size``), in process;
- lifecycle: fold and decide on the memory log those memories make (``streams.agents.lifecycle._handle``,
  the table kept as Faust's ``memory://`` store keeps it), decisions read back as the log would give them;
  then the accesses 2,000 searches record; then one consolidation tick per user;
- each projector: the real ``ProjectorRunner`` rebuilding its store from a synthetic log on the real broker
  (``bench.replay_runs.replay``, one store at a time: one projector process's thread, the store's server on
  the same machine);
- search: one API process on loaded stores (``bench.stages_search``): latency with one client, searches/s
  with several, and the API's CPU per search.

The machine is shared (2 cores, other work on it), so the rates are per CPU-second of the process doing the work
(``bench.cpu``), with the wall-clock rate beside them; every stage runs ``--repeat`` times (default 3) and the
table gives the best and the median, with the 1-minute load average seen before each repetition.

    .venv/bin/python -m bench.stages                         # everything, ~15 minutes on a busy machine
    .venv/bin/python -m bench.stages --only extraction embedding lifecycle   # no services needed
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.settings_loader import load_settings
from bench.common import write_results
from bench.cpu import CpuMeter
from bench.ingest import DEFAULT_LOCOMO
from bench.replay import NAMES as STORES
from bench.replay import with_retries
from bench.replay_log import produce_log
from bench.replay_runs import Scratch, replay
from bench.stages_pipeline import (
    describe,
    embed,
    extract,
    extracted_only,
    lifecycle,
    lifecycle_log,
    locomo_turn_bytes,
    one_core_embedder,
)
from bench.stages_search import SearchStage
from memory.contract.codec import Codec
from memory.settings import Settings, Topics
from tests.support import isolated_settings, unique

STAGES = ("extraction", "embedding", "lifecycle", "projectors", "search")
Measure = Callable[[], dict[str, Any]]


def repeated(label: str, times: int, measure: Measure) -> list[dict[str, Any]]:
    """``measure`` ``times`` times, each run with the 1-minute load average seen just before it."""
    runs = []
    for i in range(times):
        load = round(os.getloadavg()[0], 2)
        run = {**measure(), "load_1m": load}
        print(f"  {label} #{i + 1}: {run}", flush=True)
        runs.append(run)
    return runs


def summary(runs: list[dict[str, Any]], figure: str) -> dict[str, Any]:
    """The best and the median of a rate over the repetitions, with the load each ran under."""
    values = [float(r[figure]) for r in runs]
    return {"best": max(values), "median": round(statistics.median(values), 2), "loads": [r["load_1m"] for r in runs]}


# ── the stages ──────────────────────────────────────────────────────────────────────────────────────────


def pipeline_stages(args: argparse.Namespace, settings: Settings, results: dict[str, Any]) -> None:
    if not {"extraction", "embedding", "lifecycle"} & set(args.only):
        return
    codec = Codec()
    turns = locomo_turn_bytes(args.locomo, codec)
    _, memory_log = extract(turns, codec, settings.max_content_chars)
    if "extraction" in args.only:
        print(f"extraction: {len(turns)} LoCoMo turns ...", flush=True)
        results["extraction"] = repeated(
            "extraction", args.repeat, lambda: describe(extract(turns, codec, settings.max_content_chars)[0])
        )
    if "embedding" in args.only:
        texts = extracted_only(memory_log, codec)[: args.embed_texts]
        embedder = one_core_embedder()
        print(f"embedding: {len(texts)} memories, batch {settings.embed_batch_size}, 1 thread ...", flush=True)
        results["embedding"] = repeated(
            "embedding", args.repeat, lambda: describe(embed(texts, codec, embedder, settings.embed_batch_size))
        )
    if "lifecycle" in args.only:
        log = lifecycle_log(memory_log, codec)
        print(f"lifecycle: {len(log)} memory events ...", flush=True)
        results["lifecycle"] = repeated("lifecycle", args.repeat, lambda: describe(lifecycle(log, codec, settings)))


def projector_stage(args: argparse.Namespace, base: Settings, results: dict[str, Any]) -> None:
    scratch = Scratch(base)
    meter = CpuMeter(base)
    try:
        tag = unique("stages")
        topics = Topics(f"bench.{tag}.turns", f"bench.{tag}.commands", f"bench.{tag}.memories", f"bench.{tag}.dlq")
        scratch.topics.extend([topics.turns, topics.commands, topics.memories, topics.deadletter])
        settings = replace(base, topics=topics)
        print(f"projectors: producing a synthetic log of {args.log_events} events ...", flush=True)
        before = meter.take()
        log = produce_log(settings, args.log_events, args.scopes)
        # The broker's CPU to take the log in (acks=all, one replica here): its per-core produce rate.
        kafka_cpu = CpuMeter.spent(before, meter.take()).get("kafka", 0.0)
        produce = round(log["events"] / kafka_cpu, 1) if kafka_cpu else 0.0
        results["projector_log"] = {**log, "kafka_cpu_s": kafka_cpu, "kafka_produce_events_per_cpu_s": produce}
        print(f"  {results['projector_log']}", flush=True)
        for name in STORES:

            def one(name: str = name) -> dict[str, Any]:
                before = meter.take()
                run = with_retries(lambda: replay((name,), settings, scratch, args.batch_size))[name]
                spent = CpuMeter.spent(before, meter.take())
                # CPU per event on each side: the runner (this process: consumer, decoding, the driver), the
                # store's server, the broker serving the reads.
                sides = {"runner": spent["own"], "store": spent.get(name, 0.0), "kafka": spent.get("kafka", 0.0)}
                events = run["events"]
                return {
                    **{k: run[k] for k in ("events", "seconds", "events_per_s", "apply_share")},
                    "events_per_s_after_join": round(events / (run["seconds"] - run["first_batch_after_s"]), 1),
                    "cpu_s": sides,
                    **{f"{side}_events_per_cpu_s": round(events / cpu, 1) for side, cpu in sides.items() if cpu},
                    "per_cpu_s": round(events / sum(sides.values()), 1),
                }

            results[f"projector_{name}"] = repeated(f"projector {name}", args.repeat, one)
    finally:
        scratch.clean()


def search_stage(args: argparse.Namespace, base: Settings, results: dict[str, Any]) -> None:
    settings = replace(isolated_settings(base), api_port=base.api_port + 100)
    stage = SearchStage(settings, args.memories, args.users)
    results["search_load"] = stage.load_rates
    try:
        seeds = iter(range(100, 200))
        results["search_sequential"] = repeated(
            "search, one client", args.repeat, lambda: stage.sequential(args.queries, next(seeds))
        )
        for cached, label in ((False, "search_concurrent_miss"), (True, "search_concurrent_hit")):
            results[label] = repeated(
                f"{label} ({args.concurrency} clients)",
                args.repeat,
                lambda cached=cached: stage.concurrent(args.concurrency, args.seconds, next(seeds), cached),  # type: ignore[misc]
            )
        results["search_cache_entry"] = stage.cache_entry_bytes()
    finally:
        stage.close()
        from pymilvus import MilvusClient

        MilvusClient(uri=settings.milvus_uri).drop_collection(settings.milvus_collection)


# ── the table ───────────────────────────────────────────────────────────────────────────────────────────


Row = tuple[str, str, dict[str, Any], float, str]  # stage, unit, best/median per CPU-second, wall median, note


def median_of(runs: list[dict[str, Any]], figure: str) -> float:
    return round(statistics.median(float(r[figure]) for r in runs), 2)


def rows(results: dict[str, Any]) -> list[Row]:
    """Every stage measured: its rate per CPU-second (best and median), per wall-clock second, and a note."""
    out: list[Row] = []
    for key, stage, unit in (
        ("extraction", "extraction (rules)", "turns"),
        ("embedding", "embedding (MiniLM int8, 1 thread)", "texts"),
        ("lifecycle", "lifecycle fold + decide", "events"),
    ):
        if key in results:
            runs = results[key]
            out.append((stage, unit, summary(runs, "per_cpu_s"), median_of(runs, "per_s"), ""))
    if "lifecycle" in results:
        runs = results["lifecycle"]
        if all("access_events_per_cpu_s" in r for r in runs):
            note = f"{runs[0]['access_events']} accesses of {runs[0]['access_events'] // 10} searches"
            out.append(("lifecycle on search accesses", "events", summary(runs, "access_events_per_cpu_s"), 0.0, note))
        note = f"{runs[0]['tick_memories']} memories of {runs[0]['users']} users per pass"
        out.append(
            ("lifecycle tick (decay, consolidation)", "memories", summary(runs, "tick_memories_per_cpu_s"), 0.0, note)
        )
    for name in STORES:
        if f"projector_{name}" in results:
            runs = results[f"projector_{name}"]
            sides = "; ".join(
                f"{side} {median_of(runs, f'{side}_events_per_cpu_s')}"
                for side in ("runner", "store", "kafka")
                if all(f"{side}_events_per_cpu_s" in r for r in runs)
            )
            note = f"per CPU-s: {sides}; after join {median_of(runs, 'events_per_s_after_join')}/s"
            out.append(
                (f"projector {name}", "events", summary(runs, "per_cpu_s"), median_of(runs, "events_per_s"), note)
            )
    if "search_sequential" in results:
        runs = [
            {**r, "per_cpu_s": 1000 / r["api_cpu_ms_per_search"], "per_s": 1000 / r["mean_ms"]}
            for r in results["search_sequential"]
        ]
        note = f"p50 {median_of(runs, 'p50_ms')} / p95 {median_of(runs, 'p95_ms')} ms; {stores_note(runs)}"
        out.append(
            ("search, 1 client, cache missed", "searches", summary(runs, "per_cpu_s"), median_of(runs, "per_s"), note)
        )
    for label, title in (("search_concurrent_miss", "missed"), ("search_concurrent_hit", "hit")):
        if label in results:
            runs = results[label]
            note = f"p50 {median_of(runs, 'p50_ms')} / p95 {median_of(runs, 'p95_ms')} ms; {stores_note(runs)}"
            rate = summary(runs, "api_searches_per_core_s")
            out.append(
                (f"search, concurrent, cache {title}", "searches", rate, median_of(runs, "searches_per_s"), note)
            )
    return out


def stores_note(runs: list[dict[str, Any]]) -> str:
    """The stores' CPU per search (median over the runs), in ms."""
    return "store CPU ms/search " + ", ".join(
        f"{name} {median_of(runs, f'{name}_cpu_ms_per_search')}" for name in ("postgres", "neo4j", "milvus", "redis")
    )


def print_table(results: dict[str, Any], repeat: int) -> None:
    print(
        f"\nper-core rates: units per CPU-second of the stage's process (best and median of {repeat} runs), the median"
        "\nper wall-clock second on this shared machine, and the 1-minute load average before each run"
    )
    print(f"  {'stage':<40} {'unit':<9} {'best/cpu-s':>10} {'median':>9} {'wall/s':>8}  {'load':<16} note")
    for stage, unit, rate, wall, note in rows(results):
        loads = "/".join(f"{x:.1f}" for x in rate["loads"])
        wall_text = f"{wall:>8.1f}" if wall else f"{'':>8}"
        print(f"  {stage:<40} {unit:<9} {rate['best']:>10.1f} {rate['median']:>9.1f} {wall_text}  {loads:<16} {note}")
    if "projector_log" in results:
        log = results["projector_log"]
        print(f"  the broker taking the synthetic log in: {log.get('kafka_produce_events_per_cpu_s')} events/CPU-s")
    if "search_cache_entry" in results:
        print(f"  a cached search answer in Redis: {results['search_cache_entry']}")
    if "search_load" in results:
        print(f"  loading the search stores (memories/s, in process): {results['search_load']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--embed-texts", type=int, default=1024, help="memories embedded per repetition")
    parser.add_argument("--log-events", type=int, default=50_000, help="synthetic log for the projector replays")
    parser.add_argument("--scopes", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500, help="the projector runner's batch")
    parser.add_argument("--memories", type=int, default=10_000, help="memories loaded for search")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200, help="one-client searches per repetition")
    parser.add_argument("--concurrency", type=int, default=4, help="clients of the concurrent search runs")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each concurrent search run")
    parser.add_argument("--results-name", default="stages", help="bench/results/<name>.json")
    args = parser.parse_args()
    base = load_settings()
    results: dict[str, Any] = {"config": {k: str(v) for k, v in vars(args).items()}, "cpus": os.cpu_count()}
    pipeline_stages(args, base, results)
    if "projectors" in args.only:
        projector_stage(args, base, results)
    if "search" in args.only:
        search_stage(args, base, results)
    print_table(results, args.repeat)
    path = write_results(args.results_name, {"benchmark": "stages", **results})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
