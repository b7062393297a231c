"""Scale out on this machine: ingest turns/s and search latency with 1, 2 and 3 stream workers over 4 and 8 partitions.

For each configuration (workers x partitions) the benchmark makes a fresh namespace (new topics with that many
partitions, new schema, collection, consumer groups), starts the system with that many Faust stream workers, ONE
projector process and ONE API process (no balancer: the API is not what is being scaled here), waits until the API
is ready and every worker has joined its group, then

- ingests LoCoMo turns (../shared/bench/locomo10.json) spread over many users: each conversation is cut into
  chunks of ``--chunk`` turns, each chunk a user of its own, so the scope keys hash over all the partitions; the
  clock stops when PostgreSQL holds every expected memory as settled (bench.ingest.throughput);
- runs a search load on the settled stores: ``--searches`` LoCoMo questions (cache off), each against a user of its
  conversation, from ``--clients`` threads; latency percentiles and searches/s;

then stops the system and goes on to the next configuration. Each configuration also records the load average
before it starts, the CPU seconds each process of the system spent during the ingest, and the turns per partition
(the other helpers and services share this machine's cores: the load average says how quiet it was).

    .venv/bin/python -m bench.scale                      # 1,2,3 workers x 4,8 partitions, 600 turns, 200 searches
    .venv/bin/python -m bench.scale --workers 1 3 --partitions 8 --turns 1200 --searches 400
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

from confluent_kafka import TopicPartition
from pymilvus import MilvusClient

from adapters.kafka import ensure_topics, make_consumer
from adapters.settings_loader import load_settings
from bench.common import api_client, api_key, percentiles, provenance, write_results
from bench.ingest import DEFAULT_LOCOMO, throughput
from bench.locomo_data import Conversation, LocomoTurn, load_conversations, turn_event
from bench.restart import run as restart_run
from memory.contract.events import ConversationTurnReceived
from memory.settings import Settings
from memstream_cli.processes import System, start_system
from tests.support import isolated_settings

RESTART_PER_USER = 1000
RESTART_TIMEOUT_SECONDS = 1800.0

WARM_UP = 10  # searches before the measured ones: the API's pools, Neo4j's page cache, Milvus' segments


@dataclass(frozen=True)
class Workload:
    turns: list[ConversationTurnReceived]
    # (user_id, question) pairs: a LoCoMo question asked of one of its conversation's users that were ingested
    questions: list[tuple[str, str]]
    users: int


def workload(path: Path, limit: int, chunk: int, app_id: str) -> Workload:
    """``limit`` turns over users of ``chunk`` turns each, the conversations' chunks interleaved (the first chunk of
    every conversation, then the second of each, ...) so that a short run still spans many users."""
    conversations = load_conversations(path)
    chunks_of: dict[str, list[list[LocomoTurn]]] = {}
    for conversation in conversations:
        turns = list(conversation.turns)
        chunks_of[conversation.sample_id] = [turns[i : i + chunk] for i in range(0, len(turns), chunk)]
    picked: list[ConversationTurnReceived] = []
    users_of: dict[str, list[str]] = {}
    for round_ in itertools.zip_longest(*chunks_of.values()):
        for turns in round_:
            if turns is None or len(picked) >= limit:
                continue
            conversation_users = users_of.setdefault(turns[0].sample_id, [])
            user = f"{turns[0].sample_id}-u{len(conversation_users)}"
            conversation_users.append(user)
            for turn in turns[: limit - len(picked)]:
                # The user is the chunk's, not the conversation's: bench.locomo_data scopes a turn by sample_id.
                picked.append(turn_event(replace(turn, sample_id=user), app_id, "bench.scale"))
    return Workload(picked, questions_for(conversations, users_of), sum(len(u) for u in users_of.values()))


def questions_for(conversations: list[Conversation], users_of: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Each question of an ingested conversation, asked of its conversation's users in turn (the answer may sit in
    another chunk: the load is what counts here, not the recall)."""
    pairs = []
    for conversation in conversations:
        users = users_of.get(conversation.sample_id, [])
        pairs += [(users[i % len(users)], q.question) for i, q in enumerate(conversation.questions) if users]
    return pairs


def turns_per_partition(settings: Settings) -> list[int]:
    """The turns topic's high watermarks: how many turns each partition received (a fresh topic starts at 0)."""
    consumer = make_consumer(settings, f"bench-scale-watermarks-{uuid.uuid4().hex[:6]}")
    try:
        return [
            consumer.get_watermark_offsets(TopicPartition(settings.topics.turns, p), timeout=10)[1]
            for p in range(settings.kafka_partitions)
        ]
    finally:
        consumer.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (/proc/<pid>/stat, fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_cpu(system: System) -> dict[str, float]:
    return {name: cpu_seconds(proc.pid) for name, proc in system.procs.items()}


def search_load(
    settings: Settings, base_url: str, app_id: str, questions: list[tuple[str, str]], searches: int, clients: int
) -> dict[str, Any]:
    """``searches`` searches (cache off, so each one runs the retrievers) shared by ``clients`` threads, each with
    its own HTTP client; a failed search is counted, not retried."""
    rng = random.Random(15)
    bodies = [
        {"query": q, "user_id": user, "app_id": app_id, "use_cache": False}
        for user, q in (rng.choice(questions) for _ in range(searches + WARM_UP))
    ]
    key = api_key(settings, app_id)
    with api_client(settings, base_url, app_id, timeout=60, key=key) as client:
        for body in bodies[:WARM_UP]:
            client.post("/v1/memories/search", json=body).raise_for_status()
    measured = bodies[WARM_UP:]
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run(share: list[dict[str, Any]]) -> None:
        with api_client(settings, base_url, app_id, timeout=60, key=key) as client:
            for body in share:
                started = time.perf_counter()
                response = client.post("/v1/memories/search", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        failures.append(response.text[:200])

    threads = [threading.Thread(target=run, args=(measured[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        **percentiles(latencies),
        "failed": len(failures),
        "clients": clients,
        "searches_per_s": round(len(latencies) / wall, 1),
    }


def run_configuration(
    base: Settings, workers: int, partitions: int, args: argparse.Namespace, logs: Path
) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    settings = isolated_settings(base, kafka_partitions=partitions)
    ensure_topics(settings)
    app_id = f"scale-{uuid.uuid4().hex[:6]}"
    work = workload(args.locomo, args.turns, args.chunk, app_id)
    started = time.perf_counter()
    system = start_system(settings, logs / f"w{workers}-p{partitions}", workers=workers, projectors=1, apis=1)
    try:
        system.wait_ready(timeout=300)
        system.wait_beating(timeout=300)  # every worker has joined the group: the ingest clock starts on a quiet group
        startup_s = time.perf_counter() - started
        cpu_before = system_cpu(system)
        rate = throughput(settings, work.turns, app_id)
        cpu_after = system_cpu(system)
        searched = search_load(settings, system.base_url, app_id, work.questions, args.searches, args.clients)
    finally:
        system.stop()
        MilvusClient(uri=settings.milvus_uri).drop_collection(settings.milvus_collection)
    return {
        "workers": workers,
        "partitions": partitions,
        "projector_processes": 1,
        "api_processes": 1,
        "users": work.users,
        "loadavg_before": load_before,
        "startup_s": round(startup_s, 1),
        "ingest": rate,
        "turns_per_partition": turns_per_partition(settings),
        "ingest_cpu_s": {n: round(cpu_after.get(n, 0.0) - s, 1) for n, s in cpu_before.items()},
        "search": searched,
    }


def restart_times(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """Issue 15, point 3: a worker's restart time with its table holding ``--restart-memories`` memories, with each
    table store (bench/restart.py measures it; its own command runs it alone, for 1M as well)."""
    if not args.restart_memories:
        return None
    logs = Path(mkdtemp(prefix="scale-restart-"))
    return [
        restart_run(load_settings(), memories, RESTART_PER_USER, 1, logs, RESTART_TIMEOUT_SECONDS)
        for memories in args.restart_memories
    ]


def table(runs: list[dict[str, Any]]) -> str:
    head = (
        f"{'workers':>7} {'parts':>5} {'load1':>5} {'turns':>5} {'turns/s':>7} {'mem/s':>6} "
        f"{'search p50':>10} {'p95':>7} {'srch/s':>6} {'fail':>4}  worker CPU s (ingest)"
    )
    lines = [head]
    for r in runs:
        ingest, search = r["ingest"], r["search"]
        worker_cpu = sum(v for k, v in r["ingest_cpu_s"].items() if k.startswith("streams"))
        lines.append(
            f"{r['workers']:>7} {r['partitions']:>5} {r['loadavg_before'][0]:>5} {ingest['turns']:>5} "
            f"{ingest['turns_per_s']:>7} {ingest['memories_per_s']:>6} {search.get('p50_ms', '-'):>10} "
            f"{search.get('p95_ms', '-'):>7} {search['searches_per_s']:>6} {search['failed']:>4}  {worker_cpu:.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--partitions", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--turns", type=int, default=600, help="LoCoMo turns ingested per configuration")
    parser.add_argument("--chunk", type=int, default=30, help="turns of one conversation per user")
    parser.add_argument("--searches", type=int, default=200, help="measured searches per configuration")
    parser.add_argument("--clients", type=int, default=2, help="threads sharing the searches")
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument(
        "--restart-memories",
        type=int,
        nargs="*",
        default=[100_000],
        help="table sizes to time a worker's restart at, with each store (none: skip; 1M takes ~30 min alone)",
    )
    args = parser.parse_args()
    started = provenance()
    base = load_settings()
    logs = Path(mkdtemp(prefix="bench-scale-"))
    print(f"process logs under {logs}", flush=True)
    runs = []
    for partitions, workers in itertools.product(args.partitions, args.workers):
        print(f"{workers} worker(s), {partitions} partitions, load average {os.getloadavg()[0]:.2f} ...", flush=True)
        runs.append(run_configuration(base, workers, partitions, args, logs))
        print(table(runs[-1:]).splitlines()[1], flush=True)
    print(table(runs))
    body = {
        "benchmark": "scale",
        "cores": os.cpu_count(),
        "note": "1 projector process and 1 API process in every configuration; the machine's cores are shared "
        "with other work (loadavg_before)",
        "runs": runs,
        "restart": restart_times(args),
    }
    print(f"wrote {write_results('scale', body, started)}")


if __name__ == "__main__":
    main()
