"""What sessions cost the ingest path: the PostgreSQL projector applying LoCoMo turns from the turns topic in live
batches (500), timed whole and in its sessions step (``projections.postgres.sessions.update_sessions``), on a fresh
schema per round. Turns are dated as LoCoMo dates them (several sessions per conversation, turns seconds apart) or,
as ``bench.ingest`` dates them, all at one instant (one session per conversation that every batch merges into).

    .venv/bin/python -m bench.sessions_cost --turns 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from adapters.settings_loader import load_settings
from bench.common import write_results
from bench.locomo_data import load_conversations, turn_event
from memory.contract.positions import LogPosition
from memory.settings import PROJECT_ROOT
from projections.base import Positioned
from projections.postgres import projector as pg_projector
from projections.postgres.projector import PostgresProjector
from tests.support import create_schema

DEFAULT_LOCOMO = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10.json"
BATCH = 500  # the live projectors' batch size
TOPIC = "memstream.turns.v1"


def turns(path: Path, limit: int, same_instant: bool) -> list[Positioned]:
    app_id = f"bench-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    records = [turn for conversation in load_conversations(path) for turn in conversation.turns][:limit]
    at = (now - timedelta(days=1)) if same_instant else None
    events = [turn_event(t, app_id, "bench.sessions_cost", occurred_at=at, recorded_at=now) for t in records]
    return [Positioned(e, LogPosition(TOPIC, 0, i)) for i, e in enumerate(events)]


def one_round(dsn: str, items: list[Positioned]) -> dict[str, float]:
    schema_dsn = create_schema(dsn, f"b{uuid.uuid4().hex[:10]}")
    projector = PostgresProjector(schema_dsn, (TOPIC,))
    in_sessions = 0.0
    timed = pg_projector.update_sessions

    def update_sessions(*args: object, **kwargs: object) -> None:
        nonlocal in_sessions
        started = time.perf_counter()
        timed(*args, **kwargs)  # type: ignore[arg-type]
        in_sessions += time.perf_counter() - started

    pg_projector.update_sessions = update_sessions  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        for start in range(0, len(items), BATCH):
            projector.apply_batch(items[start : start + BATCH])
        total = time.perf_counter() - started
    finally:
        pg_projector.update_sessions = timed
        projector.close()
    with psycopg.connect(schema_dsn) as conn:
        row = conn.execute("SELECT count(*), coalesce(sum(turn_count), 0) FROM conversation_sessions").fetchone()
    assert row is not None and row[1] == len(items), row
    batches = -(-len(items) // BATCH)
    return {
        "batch_ms": round(total / batches * 1000, 2),
        "sessions_ms": round(in_sessions / batches * 1000, 2),
        "sessions_share": round(in_sessions / total, 4),
        "sessions": int(row[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    args = parser.parse_args()
    settings = load_settings()
    results: dict[str, list[dict[str, float]]] = {}
    for mode, same_instant in (("locomo_dates", False), ("one_instant", True)):
        items = turns(args.locomo, args.turns, same_instant)
        results[mode] = [one_round(settings.postgres_dsn, items) for _ in range(args.rounds)]
        print(f"{mode}: {results[mode]}", flush=True)
    path = write_results("sessions_cost", {"benchmark": "sessions_cost", "turns": args.turns, **results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
