"""Embedding agent: batches MemoryExtracted (and MemoryUpdated) events, embeds their text, emits MemoryEmbedded.

The vector travels inside the event with the model name, so rebuilding a projection never re-embeds.
Whether the new memory becomes active is the lifecycle agent's decision (it may repeat an existing one).
A memory the model fails on is embedded alone and, if it fails again, dead-lettered with the reason; an
outage of a remote embedding endpoint fails the batch instead, which is then read again
(streams.settlement).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust
import numpy as np

from adapters import faults
from adapters.logs import log_batch
from adapters.metrics import EMBEDDED_TEXTS, EMBEDDING_SECONDS
from memory.contract.events import MemoryExtracted, MemoryUpdated
from memory.errors import DecodeError
from memory.ingest.derivation import embedding_events, embedding_text
from models.embedder import Embedder
from streams.context import StreamContext
from streams.failures import is_transient
from streams.offsets import settlement_of
from streams.output import DeadLetterSender, Rejected, send_all
from streams.settlement import retrying
from streams.topics import raw_topic

log = logging.getLogger(__name__)
COMPONENT = "streams.embedding"
EVENTS_PER_EXTRACTED = 4
_EMBEDDED_TYPES = frozenset({MemoryExtracted.SCHEMA_NAME, MemoryUpdated.SCHEMA_NAME})


def embed_each(embedder: Embedder, texts: list[str], memory_texts: list[str]) -> list[np.ndarray | Exception]:
    """One vector per text, or the exception the model raised on that text alone (runs in a thread).

    The batch is tried first; if it fails, each text is tried alone, so one text the model cannot take costs
    only itself. A transient failure (the endpoint is away) is raised: every text would fail the same way.
    ``memory_texts`` (the memories' own texts, without the context they are embedded with) are what a fault
    drill's poison is matched against, so that a poisoned memory does not poison the turn after it."""
    try:
        for text in memory_texts:
            faults.trip("embedding.memory", text)
        return list(embedder.embed(texts))
    except Exception as exc:
        if is_transient(exc):
            raise
        if len(texts) == 1:
            return [exc]
    results: list[np.ndarray | Exception] = []
    for text, memory_text in zip(texts, memory_texts, strict=True):
        results.extend(embed_each(embedder, [text], [memory_text]))
    return results


def register_embedding(app: faust.App, ctx: StreamContext) -> Any:
    memories = raw_topic(app, ctx.settings.topics.memories)
    dead_letters = DeadLetterSender(app, ctx.codec, ctx.settings.topics.deadletter, COMPONENT)
    settlement = settlement_of(app)
    settlement.reads(COMPONENT, ctx.settings.topics.memories)  # the commit passes only offsets its readers finished
    # About one event in four on this topic is a MemoryExtracted (the others are entities, vectors and
    # activations), so take four times the wanted texts per batch to hand the model full batches.
    events_per_batch = ctx.settings.embed_batch_size * EVENTS_PER_EXTRACTED
    within = ctx.settings.embed_batch_seconds

    async def publish(outputs: list[tuple[bytes, bytes]], rejected: list[Rejected]) -> None:
        await dead_letters.send(rejected)
        await send_all(memories, outputs, "embedding.send", COMPONENT)

    @app.agent(memories, name="embedding")
    async def embed(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        async for batch in stream.take_events(  # type: ignore[attr-defined]  # faust-streaming has it; its StreamT stub lags
            events_per_batch, within=within
        ):
            async with settlement.settling(batch, COMPONENT):
                extracted: list[tuple[faust.EventT, MemoryExtracted | MemoryUpdated]] = []
                for event in batch:
                    # Most of this topic is other event types (vectors among them): read the header, not the body.
                    if ctx.codec.record_name(event.value) not in _EMBEDDED_TYPES:
                        continue
                    try:
                        extracted.append((event, ctx.codec.decode(event.value)))
                    except DecodeError:
                        continue  # the projectors dead-letter bad memory events; this agent only embeds
                if not extracted:
                    continue
                embedder = ctx.embedder
                texts = [embedding_text(memory) for _, memory in extracted]
                own_texts = [memory.text for _, memory in extracted]
                embedding_started = time.perf_counter()
                vectors = await loop.run_in_executor(None, embed_each, embedder, texts, own_texts)
                EMBEDDING_SECONDS.observe(time.perf_counter() - embedding_started)
                EMBEDDED_TEXTS.inc(len(texts))
                now = datetime.now(UTC)
                outputs: list[tuple[bytes, bytes]] = []
                rejected: list[Rejected] = []
                for (event, memory), vector in zip(extracted, vectors, strict=True):
                    if isinstance(vector, Exception):
                        reason = f"embedding failed: {type(vector).__name__}: {vector}"
                        rejected.append(Rejected(event, reason, vector, memory.envelope.correlation_id))
                        continue
                    key = memory.scope.key.encode()
                    for produced in embedding_events(memory, vector.tolist(), embedder.model_name, now):
                        outputs.append((key, ctx.codec.encode(produced)))
                await retrying(f"{COMPONENT}: sending a batch's events", partial(publish, outputs, rejected))
                correlations = [memory.envelope.correlation_id for _, memory in extracted]
                log_batch(log, COMPONENT, correlations, len(batch), embedded=len(texts), rejected=len(rejected))

    return embed
