"""Rebuilding projections from the log: events per second through the real runner, per store and all at once.

A synthetic log (users spread over ``--scopes`` scopes; per turn a ``ConversationTurnReceived`` and one to
three memories, each ``MemoryExtracted`` + ``EntitiesLinked`` + ``MemoryEmbedded`` (384-d seeded random unit
vector) + ``MemoryActivated``) is produced to fresh topics on the real broker. Then each projection — and
all four at once, one thread each as ``python -m projections`` runs them — consumes it from offset 0 with
``projections.runner.ProjectorRunner`` (new consumer group, fresh targets: PostgreSQL schema, Milvus
collection, Neo4j label prefix, Redis key prefix). The clock runs from the runner's start (group join
included) until it has taken every message of its topics. ``--topic`` replays an existing log as well,
e.g. the memories topic a LoCoMo ingest (``bench.ingest``) left behind.

Milvus Lite's own ceiling is measured in the same run: plain ``MilvusClient.insert`` of the same rows in
big batches into a scratch collection, before and after the Milvus replay; the higher is the ceiling.
Everything the run creates (topics, groups, schemas, collections, labels, keys) is removed at the end.

    .venv/bin/python -m bench.replay                      # 200,000 events
    .venv/bin/python -m bench.replay --events 20000 --topic test.t1827ae4909.memories
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from adapters.kafka import ensure_topics
from adapters.kafka_auth import client_config
from adapters.settings_loader import load_settings
from bench.common import write_results
from bench.replay_log import messages_in, produce_log
from bench.replay_runs import Scratch, milvus_ceiling, replay
from memory.settings import Settings, Topics
from replay.rebuild import REBUILD_BATCH_SIZE
from tests.support import unique

NAMES = ("postgres", "milvus", "neo4j", "redis")


# ── report ────────────────────────────────────────────────────────────────────────────────────────────


def print_table(title: str, runs: dict[str, dict[str, Any]], log_events: int) -> None:
    print(f"\n{title}")
    print(f"  {'projection':<12} {'events':>8} {'seconds':>8} {'events/s':>9} {'apply share':>11}")

    def line(label: str, r: dict[str, Any]) -> None:
        print(f"  {label:<12} {r['events']:>8} {r['seconds']:>8} {r['events_per_s']:>9} {r['apply_share']:>11}")

    for name, run in runs.items():
        if name != "all":
            line(name, run[name])
            continue
        rate = round(log_events / run["seconds"], 1)
        print(f"  {'all four':<12} {log_events:>8} {run['seconds']:>8} {rate:>9}")
        for each in NAMES:
            line(f"  {each}", run[each])


def replay_all(settings: Settings, scratch: Scratch, batch_size: int, names: tuple[str, ...]) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for label, group in [*((name, (name,)) for name in names), ("all", NAMES)]:
        print(f"  replaying into {' + '.join(group)} ...", flush=True)
        runs[label] = with_retries(partial(replay, group, settings, scratch, batch_size))
        if label == "all":
            runs[label]["seconds"] = max(runs[label][n]["seconds"] for n in NAMES)
        summary = {n: runs[label][n]["events_per_s"] for n in group}
        print(f"    events/s {summary} (load {runs[label]['load_avg_1m_before']})", flush=True)
    return runs


def with_retries(run: Callable[[], dict[str, Any]], attempts: int = 3) -> dict[str, Any]:
    """A replay killed by the broker going away (the shared stack restarts it) is run again, on fresh targets."""
    for attempt in range(1, attempts + 1):
        try:
            return {**run(), "attempt": attempt}
        except (RuntimeError, KafkaException) as exc:
            if attempt == attempts:
                raise
            print(f"    attempt {attempt} failed ({exc}); waiting for the broker and trying again", flush=True)
            time.sleep(15)
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="synthetic log size (0: none)")
    parser.add_argument("--scopes", type=int, default=100)
    parser.add_argument(
        "--batch-size", type=int, default=REBUILD_BATCH_SIZE, help="the runner's batch (default: the rebuild's)"
    )
    parser.add_argument("--ceiling-batch", type=int, default=1000, help="rows per plain Milvus insert")
    parser.add_argument("--topic", help="also replay this existing memories topic (e.g. a LoCoMo ingest's)")
    parser.add_argument("--turns-topic", help="its turns topic (default: the sibling '.turns' if it exists)")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES), help="single-store replays to run")
    args = parser.parse_args()
    base = load_settings()
    scratch = Scratch(base)
    body: dict[str, Any] = {
        "benchmark": "replay",
        "config": {"events": args.events, "scopes": args.scopes, "batch_size": args.batch_size},
    }
    try:
        if args.events:
            tag = unique("replay")
            topics = Topics(f"bench.{tag}.turns", f"bench.{tag}.commands", f"bench.{tag}.memories", f"bench.{tag}.dlq")
            scratch.topics.extend([topics.turns, topics.commands, topics.memories, topics.deadletter])
            settings = replace(base, topics=topics)
            print(f"producing a synthetic log of {args.events} events over {args.scopes} scopes ...", flush=True)
            log = produce_log(settings, args.events, args.scopes)
            print(f"  {log}", flush=True)
            ceiling_before = milvus_ceiling(settings, scratch, args.events, args.scopes, args.ceiling_batch)
            runs = replay_all(settings, scratch, args.batch_size, tuple(args.only))
            ceiling_after = milvus_ceiling(settings, scratch, args.events, args.scopes, args.ceiling_batch)
            ceiling = max(ceiling_before["rows_per_s"], ceiling_after["rows_per_s"])
            milvus: dict[str, Any] = {"insert_ceiling_before": ceiling_before, "insert_ceiling_after": ceiling_after}
            if "milvus" in runs:
                run = runs["milvus"]["milvus"]
                rows_per_s = log["memories"] / run["seconds"]
                writing = log["memories"] / run["apply_s"]  # inside apply_batch only: the store's share
                milvus.update(
                    ceiling_rows_per_s=ceiling,
                    ceiling_events_per_s=round(ceiling * run["events"] / log["memories"], 1),
                    projector_rows_per_s=round(rows_per_s, 1),
                    percent_of_ceiling=round(100 * rows_per_s / ceiling, 1),
                    apply_rows_per_s=round(writing, 1),
                    apply_percent_of_ceiling=round(100 * writing / ceiling, 1),
                )
            body["synthetic"] = {"log": log, "runs": runs, "milvus": milvus}
            print_table(f"synthetic log: {log['events']} events, batch {args.batch_size}", runs, log["events"])
            if "percent_of_ceiling" in milvus:
                print(
                    f"  Milvus Lite insert ceiling {ceiling} rows/s (before {ceiling_before['rows_per_s']}, after "
                    f"{ceiling_after['rows_per_s']}; batches of {args.ceiling_batch}) = "
                    f"{milvus['ceiling_events_per_s']} memory events/s at this log's events per row\n"
                    f"  Milvus projection: {milvus['projector_rows_per_s']} rows/s end to end "
                    f"= {milvus['percent_of_ceiling']} % of the ceiling; inside apply_batch "
                    f"{milvus['apply_rows_per_s']} rows/s = {milvus['apply_percent_of_ceiling']} %"
                )
        if args.topic:
            body["existing_log"] = replay_existing(base, scratch, args)
        path = write_results("replay", body)
        print(f"\nwrote {path}")
    finally:
        print("cleaning up ...", flush=True)
        scratch.clean()


def replay_existing(base: Settings, scratch: Scratch, args: argparse.Namespace) -> dict[str, Any]:
    turns = args.turns_topic
    if turns is None and args.topic.endswith(".memories"):
        sibling = args.topic[: -len(".memories")] + ".turns"
        admin = AdminClient(client_config(base))
        turns = sibling if sibling in admin.list_topics(timeout=10).topics else None
    tag = unique("replay")
    topics = Topics(turns or f"bench.{tag}.turns", f"bench.{tag}.commands", args.topic, f"bench.{tag}.dlq")
    scratch.topics.extend([t for t in (topics.commands, topics.deadletter, topics.turns) if t.startswith("bench.")])
    settings = replace(base, topics=topics)
    ensure_topics(settings)  # creates only the missing scratch topics
    count = messages_in(settings, [topics.turns, topics.memories])
    print(f"\nreplaying {args.topic} (+ {topics.turns}): {count} messages ...", flush=True)
    runs = replay_all(settings, scratch, args.batch_size, tuple(args.only))
    print_table(f"existing log {args.topic}: {count} events, batch {args.batch_size}", runs, count)
    return {"memories_topic": args.topic, "turns_topic": topics.turns, "events": count, "runs": runs}


if __name__ == "__main__":
    main()
