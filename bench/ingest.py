"""End-to-end ingest through the real pipeline: throughput and freshness.

Throughput: LoCoMo turns (real conversational text, ../shared/bench/locomo10.json) produced to the turns
topic as fast as the producer goes; the clock stops when PostgreSQL holds every expected memory as
settled (extracted, embedded, through the lifecycle agent, projected: active, or a repeat that reinforced
an earlier memory). Freshness: then, one probe turn at a time on the idle system,
the time from the producer's acknowledgement until ``POST /v1/memories/search`` returns the probe.

    .venv/bin/python -m bench.ingest --turns 2000 --probes 40
"""

from __future__ import annotations

import argparse
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp

import psycopg
from pymilvus import MilvusClient

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.settings_loader import load_settings
from bench.common import REINFORCED_REPEAT, api_client, expected_memories, percentiles, write_results
from bench.locomo_data import load_conversations, turn_event
from memory.contract.codec import Codec
from memory.contract.events import ConversationTurnReceived, Envelope, Producer, Scope
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import start_system
from tests.support import isolated_settings

DEFAULT_LOCOMO = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10.json"


def locomo_turns(path: Path, limit: int, app_id: str) -> list[ConversationTurnReceived]:
    # Dated a day ago rather than at the sessions' dates: this benchmark times the pipeline, not retrieval.
    now = datetime.now(UTC)
    records = [turn for conversation in load_conversations(path) for turn in conversation.turns][:limit]
    day_ago = now - timedelta(days=1)
    return [turn_event(t, app_id, "bench.ingest", occurred_at=day_ago, recorded_at=now) for t in records]


def count_settled(dsn: str, app_id: str) -> int:
    """Memories through the whole pipeline: active, or a repeat that reinforced another (stored for good)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM memories WHERE app_id = %s AND (state = 'active' OR {REINFORCED_REPEAT})",
            (app_id,),
        ).fetchone()
    return int(row[0]) if row else 0


def throughput(settings: Settings, turns: list[ConversationTurnReceived], app_id: str) -> dict[str, float]:
    codec = Codec()
    expected = expected_memories(turns)
    producer = SyncProducer(make_producer(settings))
    started = time.perf_counter()
    producer.produce_all([(settings.topics.turns, t.scope.key.encode(), codec.encode(t)) for t in turns])
    produced_s = time.perf_counter() - started
    while (settled := count_settled(settings.postgres_dsn, app_id)) < expected:
        if time.perf_counter() - started > 1800:
            raise TimeoutError(f"only {settled} of {expected} memories settled after 30 minutes")
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    return {
        "turns": len(turns),
        "memories": expected,
        "produce_s": round(produced_s, 2),
        "end_to_end_s": round(elapsed, 2),
        "turns_per_s": round(len(turns) / elapsed, 1),
        "memories_per_s": round(expected / elapsed, 1),
    }


def freshness(settings: Settings, base_url: str, probes: int, app_id: str) -> dict[str, float]:
    codec = Codec()
    producer = SyncProducer(make_producer(settings))
    samples: list[float] = []
    with api_client(settings, base_url, app_id, timeout=10) as client:
        for i in range(probes):
            token = f"zq{uuid.uuid4().hex[:12]}"
            scope = Scope(app_id, "probe-user")
            now = datetime.now(UTC)
            turn = ConversationTurnReceived(
                Envelope(
                    str(uuid.uuid4()),
                    "ConversationTurnReceived",
                    1,
                    scope,
                    now,
                    now,
                    None,
                    None,
                    Producer("bench.freshness"),
                ),
                "probes",
                str(i),
                "user",
                "Probe",
                f"My locker code word is {token} and I keep it secret.",
            )
            producer.produce_all([(settings.topics.turns, scope.key.encode(), codec.encode(turn))])
            acked = time.perf_counter()
            while True:
                hits = client.post(
                    "/v1/memories/search", json={"query": token, "user_id": "probe-user", "app_id": app_id, "top_k": 1}
                ).json()["results"]
                if hits and token in hits[0]["memory"]:
                    samples.append((time.perf_counter() - acked) * 1000)
                    break
                if time.perf_counter() - acked > 60:
                    raise TimeoutError(f"probe {token} not searchable after 60s")
                time.sleep(0.01)
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    args = parser.parse_args()
    settings = replace(isolated_settings(load_settings()), api_port=18192)
    ensure_topics(settings)
    app_id = f"bench-{uuid.uuid4().hex[:6]}"
    turns = locomo_turns(args.locomo, args.turns, app_id)
    system = start_system(settings, Path(mkdtemp(prefix="bench-ingest-")))
    try:
        system.wait_ready()
        print(f"ingesting {len(turns)} LoCoMo turns ...", flush=True)
        rate = throughput(settings, turns, app_id)
        print(f"throughput: {rate}", flush=True)
        fresh = freshness(settings, system.base_url, args.probes, app_id)
        print(f"freshness (produce ack -> searchable): {fresh}", flush=True)
    finally:
        system.stop()
        MilvusClient(uri=settings.milvus_uri).drop_collection(settings.milvus_collection)
    path = write_results("ingest", {"benchmark": "ingest", "throughput": rate, "freshness": fresh})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
