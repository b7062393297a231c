"""The worker's three stages, measured in process on one core: extraction, embedding, lifecycle decisions.

Each measurer runs what the Faust agent's body runs on a batch (``streams/agents/*.py``), minus Kafka: the
events arrive as the Avro bytes the log would hold and leave encoded, so decoding and encoding are in every
figure, the broker round trips are not (they cost the broker's CPU, measured by the projector replays).
One core: the embedder gets one onnxruntime thread, everything else is one Python thread anyway.

The input is LoCoMo (real conversation text, ``bench.locomo_data``): its turns for extraction, the memories
extraction made of them for embedding and the lifecycle agent.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from api.access import Hit, access_events
from bench.locomo_data import load_conversations, turn_event
from memory.contract.codec import Codec
from memory.contract.events import (
    ConversationTurnReceived,
    Event,
    MemoryExtracted,
    Scope,
)
from memory.ingest.conversation_context import RECENT_CONVERSATIONS, RecentConversations
from memory.ingest.derivation import embedding_events, embedding_text, extraction_events, turn_input, validate_turn
from memory.ingest.extraction import EXTRACTOR_NAME, extract_facts
from memory.settings import Settings
from models.embedder import MiniLMOnnxEmbedder
from streams.agents.extraction import EXTRACTION_BATCH
from streams.agents.lifecycle import BATCH as LIFECYCLE_BATCH
from streams.agents.lifecycle import _handle as handle_event  # the agent's per-event step: measured as it runs
from streams.agents.lifecycle import tick_command
from streams.agents.lifecycle_store import LifecycleStore
from streams.context import StreamContext, policy_from

DIM = 384


@dataclass(frozen=True)
class Rate:
    """One repetition of one stage: ``count`` units of work (turns, texts, events) in ``seconds`` of wall clock
    and ``cpu_seconds`` of this process's CPU (every thread, the model's included: ``bench.cpu`` says why)."""

    count: int
    seconds: float
    cpu_seconds: float
    unit: str
    extra: dict[str, float] | None = None


class Clock:
    """Wall clock and process CPU time from when it is made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rate(self, count: int, unit: str, extra: dict[str, float] | None = None) -> Rate:
        return Rate(count, time.perf_counter() - self.wall, time.process_time() - self.cpu, unit, extra)


def locomo_turn_bytes(path: Path, codec: Codec, app_id: str = "bench-stages") -> list[bytes]:
    """Every LoCoMo turn as the turns topic holds it (one user per conversation, session dates as valid time)."""
    now = datetime.now(UTC)
    turns = [
        turn_event(t, app_id, "bench.stages", recorded_at=now)
        for conversation in load_conversations(path)
        for t in conversation.turns
    ]
    return [codec.encode(t) for t in turns]


# ── extraction ──────────────────────────────────────────────────────────────────────────────────────────


def extract(turns: Sequence[bytes], codec: Codec, max_chars: int) -> tuple[Rate, list[bytes]]:
    """The extraction agent's loop over batches of ``EXTRACTION_BATCH`` turns: decode, validate, the offline
    rules extractor, the events with the turn before as context, encode. Returns the memory-log bytes too."""
    recent = RecentConversations(RECENT_CONVERSATIONS)
    produced: list[bytes] = []
    clock = Clock()
    for first in range(0, len(turns), EXTRACTION_BATCH):
        for raw in turns[first : first + EXTRACTION_BATCH]:
            turn = codec.decode(raw)
            assert isinstance(turn, ConversationTurnReceived)
            validate_turn(turn, max_chars)
            facts = extract_facts(turn_input(turn))
            events = extraction_events(turn, facts, EXTRACTOR_NAME, datetime.now(UTC), recent.context_for(turn))
            produced.extend(codec.encode(e) for e in events)
    return clock.rate(len(turns), "turns", {"memory_events_out": len(produced)}), produced


def extracted_only(memory_log: Sequence[bytes], codec: Codec) -> list[bytes]:
    return [raw for raw in memory_log if codec.record_name(raw) == MemoryExtracted.SCHEMA_NAME]


# ── embedding ───────────────────────────────────────────────────────────────────────────────────────────


def one_core_embedder() -> MiniLMOnnxEmbedder:
    """The pipeline's model (MiniLM int8 ONNX) on one onnxruntime thread: a per-core figure."""
    return MiniLMOnnxEmbedder(intra_op_threads=1)


def embed(extracted: Sequence[bytes], codec: Codec, embedder: MiniLMOnnxEmbedder, batch: int) -> Rate:
    """The embedding agent's loop: decode ``batch`` MemoryExtracted, embed their texts with the turn before
    them in one call, encode the MemoryEmbedded events."""
    embedder.embed(["warm the session up"])  # loading the model is start-up, not throughput
    clock = Clock()
    for first in range(0, len(extracted), batch):
        memories = [codec.decode(raw) for raw in extracted[first : first + batch]]
        texts = [embedding_text(m) for m in memories if isinstance(m, MemoryExtracted)]
        vectors = embedder.embed(texts)
        now = datetime.now(UTC)
        for memory, vector in zip(memories, vectors, strict=True):
            assert isinstance(memory, MemoryExtracted)
            for event in embedding_events(memory, vector.tolist(), embedder.model_name, now):
                codec.encode(event)
    return clock.rate(len(extracted), "texts")


# ── lifecycle ───────────────────────────────────────────────────────────────────────────────────────────


class DictTable:
    """What ``LifecycleStore`` reads of a Faust table with the ``memory://`` store: a dict (``data``)."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def keys(self) -> Iterator[bytes]:
        return iter(self.data.keys())

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


def text_vector(text: str) -> list[float]:
    """A unit vector that is a function of the text: an exact repeat meets its original (the dedupe path runs
    as with MiniLM), anything else is near-orthogonal. Spares the lifecycle measure the embedder's time."""
    seed = int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big")
    vector = np.random.default_rng(seed).standard_normal(DIM)
    return (vector / np.linalg.norm(vector)).tolist()


def lifecycle_log(memory_log: Sequence[bytes], codec: Codec, chunk: int = 64) -> list[bytes]:
    """The memory log the lifecycle agent reads: extraction's events, and after every ``chunk`` memories their
    MemoryEmbedded events (the embedding agent's batch landing later on the same partition)."""
    out: list[bytes] = []
    pending: list[MemoryExtracted] = []
    now = datetime.now(UTC)

    def flush() -> None:
        for memory in pending:
            out.extend(codec.encode(e) for e in embedding_events(memory, text_vector(memory.text), "hashed", now))
        pending.clear()

    for raw in memory_log:
        out.append(raw)
        if codec.record_name(raw) == MemoryExtracted.SCHEMA_NAME:
            decoded = codec.decode(raw)
            assert isinstance(decoded, MemoryExtracted)
            pending.append(decoded)
            if len(pending) >= chunk:
                flush()
    flush()
    return out


def lifecycle(events: Sequence[bytes], codec: Codec, settings: Settings, searches: int = 2000) -> Rate:
    """The lifecycle agent's loop on the memory log of an ingest; then on the accesses ``searches`` searches
    record (``MemoryAccessed``, one per returned memory, as ``api.access`` writes them); then one tick per user.
    The dense-index neighbours are not asked (no Milvus search per user and batch): the recent-vectors check
    still runs."""
    ctx = StreamContext(settings, codec, extract_facts, EXTRACTOR_NAME, one_core_embedder, policy_from(settings))
    table = DictTable()
    store = LifecycleStore(table)
    clock = Clock()
    handled, decided = decide_all(ctx, store, codec, events)
    rate = clock.rate(handled, "events")
    activated = sum(1 for s in map(store.load, store.scopes()) for m in s.memories.values() if m.state == "active")
    extra: dict[str, float] = {"decisions": decided, "users": len(store.scopes()), "active_after": activated}
    # The table's size per memory: key and JSON value as the changelog carries them (Python's dict and object
    # overhead come on top in the memory:// store).
    entry_bytes = sum(len(k) + len(v) for k, v in table.data.items())
    extra.update(table_entries=len(table.data), table_bytes_per_entry=round(entry_bytes / max(len(table.data), 1), 1))
    accesses = access_log(store, codec, searches)
    clock = Clock()
    handled, decided = decide_all(ctx, store, codec, accesses)
    spent = clock.rate(handled, "events")
    extra.update(
        access_events=handled,
        access_decisions=decided,
        access_events_per_cpu_s=round(handled / spent.cpu_seconds, 1) if spent.cpu_seconds else 0.0,
    )
    return replace(rate, extra={**extra, **ticks(ctx, store, codec)})


def decide_all(ctx: StreamContext, store: LifecycleStore, codec: Codec, events: Sequence[bytes]) -> tuple[int, int]:
    """Batches of ``LIFECYCLE_BATCH``: decode, fold and decide per event (``_handle``), save what changed per
    user (the table's JSON entries), encode the decisions; the decisions come back as input, as they would from
    the log (an activation is folded like any event). Returns the events handled and the decisions made."""
    queue = list(events)
    handled = decided = 0
    for first in range(0, 10**9, LIFECYCLE_BATCH):  # the queue grows by the decisions as it is read
        batch = queue[first : first + LIFECYCLE_BATCH]
        if not batch:
            break
        states = {}
        outputs: list[bytes] = []
        for raw in batch:
            event = codec.decode(raw)
            assert isinstance(event, Event)
            scope_key = event.scope.key
            if scope_key not in states:
                states[scope_key] = store.load(scope_key)
            produced = handle_event(ctx, states[scope_key], event, {})
            outputs.extend(codec.encode(e) for e in produced)
            handled += 1
        changelog = [entry for scope_key, state in states.items() for entry in store.save(scope_key, state, 0)]
        store.apply(changelog)
        decided += len(outputs)
        queue.extend(outputs)
    return handled, decided


def access_log(store: LifecycleStore, codec: Codec, searches: int, top_k: int = 10) -> list[bytes]:
    """What ``searches`` searches of random users leave on the memory log: ``top_k`` accesses each, of that
    user's active memories (seeded, so every repetition reads the same log)."""
    rng = random.Random(5)
    scopes = store.scopes()
    active = {s: sorted(i for i, m in store.load(s).memories.items() if m.state == "active") for s in scopes}
    now = datetime.now(UTC)
    out: list[bytes] = []
    for n in range(searches):
        scope_key = rng.choice(scopes)
        app_id, _, user_id = scope_key.partition("/")
        hits = [Hit(memory_id, ["dense", "sparse"], "active") for memory_id in rng.sample(active[scope_key], top_k)]
        out.extend(codec.encode(e) for e in access_events(Scope(app_id, user_id), hits, f"bench-{n}", now))
    return out


def ticks(ctx: StreamContext, store: LifecycleStore, codec: Codec) -> dict[str, float]:
    """One tick per user a year after the sessions: decay and consolidation evaluated over every memory the
    user has (the heaviest decision the agent takes). Memories evaluated per second."""
    memories = 0
    decided = 0
    clock = Clock()
    at = datetime.now(UTC) + timedelta(days=365)  # every LoCoMo session is then over the age threshold
    for scope_key in store.scopes():
        state = store.load(scope_key)
        memories += len(state.memories)
        app_id, _, user_id = scope_key.partition("/")
        produced = handle_event(ctx, state, tick_command(Scope(app_id, user_id), at), {})
        decided += len(produced)
        for event in produced:
            codec.encode(event)
    spent = clock.rate(memories, "memories")
    return {
        "tick_memories": memories,
        "tick_seconds": round(spent.seconds, 3),
        "tick_memories_per_cpu_s": round(memories / spent.cpu_seconds, 1) if spent.cpu_seconds else 0.0,
        "tick_events_out": decided,
    }


def describe(rate: Rate) -> dict[str, Any]:
    """The figures of one repetition: the rate per wall-clock second and per CPU second (the per-core rate)."""
    return {
        "count": rate.count,
        "seconds": round(rate.seconds, 3),
        "cpu_seconds": round(rate.cpu_seconds, 3),
        "per_s": round(rate.count / rate.seconds, 1) if rate.seconds else 0.0,
        "per_cpu_s": round(rate.count / rate.cpu_seconds, 1) if rate.cpu_seconds else 0.0,
        **(rate.extra or {}),
    }
