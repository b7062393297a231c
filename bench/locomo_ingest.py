"""LoCoMo benchmark, the ingest side: produce the turns, wait until every store holds them, run the system.

Apart from ``bench.locomo`` (the command line and the report) so that the entry module reads as the run it
is; ``bench.lifecycle`` reuses the same ingest and the same started system.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp

import httpx
import psycopg

from adapters.kafka import SyncProducer, make_producer
from bench.common import (
    REINFORCED_REPEAT,
)
from memory.contract.codec import Codec
from memory.contract.events import ConversationTurnReceived
from memory.contract.positions import LogPosition
from memory.lifecycle.machine import MemoryState
from memory.settings import Settings
from memstream_cli.processes import System, start_system

INGEST_TIMEOUT_S = 3600.0
STABLE_S = 20.0  # only when the extractor is remote and the memory count is unknowable up front
# Still on their way to being searchable; archived or forgotten ones are done, just not active.
PENDING_STATES = [MemoryState.EXTRACTED.value, MemoryState.STORED.value]


@dataclass(frozen=True)
class Progress:
    turns: int
    memories: int
    pending: int


def ingest_progress(dsn: str, app_id: str, users: list[str]) -> Progress:
    try:
        with psycopg.connect(dsn) as conn:
            turns = conn.execute(
                "SELECT count(*) FROM conversation_turns WHERE app_id = %s AND user_id = ANY(%s)", (app_id, users)
            ).fetchone()
            memories = conn.execute(
                # A repeat that reinforced another memory stays "stored" for good: it is done, not pending.
                f"SELECT count(*), count(*) FILTER (WHERE state = ANY(%s) AND NOT {REINFORCED_REPEAT})"
                " FROM memories WHERE app_id = %s AND user_id = ANY(%s)",
                (PENDING_STATES, app_id, users),
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return Progress(0, 0, 0)  # the PostgreSQL projector has not created its tables yet
    assert turns is not None and memories is not None
    return Progress(int(turns[0]), int(memories[0]), int(memories[1]))


def is_complete(progress: Progress, turns: int, memories: int | None) -> bool:
    if progress.turns < turns or progress.pending:
        return False
    return memories is None or progress.memories >= memories


def produce(settings: Settings, events: list[ConversationTurnReceived]) -> list[LogPosition]:
    codec = Codec()
    producer = SyncProducer(make_producer(settings))
    messages = [(settings.topics.turns, e.scope.key.encode(), codec.encode(e)) for e in events]
    return producer.produce_all(messages, timeout=120)


def wait_for_ingest(
    dsn: str, app_id: str, users: list[str], turns: int, memories: int | None, system: System | None
) -> Progress:
    """Until PostgreSQL holds every turn and every expected memory, none of them still pending. With no
    expected count (a remote extractor decides), until the memory count has not moved for ``STABLE_S``."""
    started = last_report = time.monotonic()
    stable_since, last_count = started, -1
    while True:
        if system is not None:
            system.check_alive()  # a crashed worker would otherwise look like a slow one
        progress = ingest_progress(dsn, app_id, users)
        now = time.monotonic()
        if progress.memories != last_count:
            stable_since, last_count = now, progress.memories
        if is_complete(progress, turns, memories) and (memories is not None or now - stable_since >= STABLE_S):
            return progress
        if now - started > INGEST_TIMEOUT_S:
            raise TimeoutError(f"ingest incomplete after {INGEST_TIMEOUT_S:.0f}s: {progress}")
        if now - last_report >= 15:
            print(
                f"  ... {progress.turns}/{turns} turns, {progress.memories}/{memories or '?'} memories, "
                f"{progress.pending} pending",
                flush=True,
            )
            last_report = now
        time.sleep(1.0)


def wait_for_projections(client: httpx.Client, token: str, user_id: str, app_id: str) -> None:
    """PostgreSQL is only one of four projections: a search carrying the produce's consistency token returns
    once Milvus, Neo4j and Redis have applied it too (503 while they have not, within the API's timeout)."""
    deadline = time.monotonic() + 600
    body = {"query": "warm-up", "user_id": user_id, "app_id": app_id, "consistency_token": token}
    while True:
        response = client.post("/v1/memories/search", json=body)
        if response.status_code != 503:
            response.raise_for_status()
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"projections not caught up after 10 minutes: {response.text}")


def remembered_turns(dsn: str, app_id: str, users: list[str]) -> dict[str, set[str]]:
    """The turns that yielded at least one memory, per user: what any retriever could possibly find."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT DISTINCT user_id, metadata->>'dia_id' FROM memories WHERE app_id = %s AND user_id = ANY(%s)",
            (app_id, users),
        ).fetchall()
    found: dict[str, set[str]] = {}
    for user_id, dia_id in rows:
        found.setdefault(str(user_id), set()).add(str(dia_id))
    return found


@contextlib.contextmanager
def running_api(settings: Settings, api_url: str | None, components: tuple[str, ...]) -> Iterator[System | None]:
    """The system's processes on the run's namespace, stopped afterwards; or nothing, with ``--api``."""
    if api_url is not None:
        # Before producing anything: a wrong URL would otherwise only show as an ingest that never finishes.
        httpx.get(f"{api_url}/health", timeout=5).raise_for_status()
        yield None
        return
    system = start_system(settings, Path(mkdtemp(prefix="bench-locomo-")), components=components)
    try:
        system.wait_ready()
        yield system
    finally:
        system.stop()


def api_only(system: System | None) -> None:
    """Stop the worker and the projectors once ingest is done, so searches are always timed beside the API
    alone, as in a run that reuses an earlier ingest and starts nothing else. Otherwise they would share the
    two cores with the projectors applying the ``MemoryAccessed`` events every search records (harmless to
    leave unapplied here: accesses change no ranking; the next ingest run's projectors catch up)."""
    if system is None:
        return
    for name in ("streams", "projections"):
        if name in system.procs:
            try:
                system.kill(name, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                system.kill(name, signal.SIGKILL)
