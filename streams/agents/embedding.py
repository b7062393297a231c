"""Embedding agent: batches MemoryExtracted (and MemoryUpdated) events, embeds their text, emits MemoryEmbedded.

The vector travels inside the event with the model name, so rebuilding a projection never re-embeds.
Whether the new memory becomes active is the lifecycle agent's decision (it may repeat an existing one).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from memory.derivation import embedding_events, embedding_text
from memory.errors import DecodeError
from memory.events import MemoryExtracted, MemoryUpdated
from streams.context import StreamContext

log = logging.getLogger(__name__)
EVENTS_PER_EXTRACTED = 4
_EMBEDDED_TYPES = frozenset({MemoryExtracted.SCHEMA_NAME, MemoryUpdated.SCHEMA_NAME})


def register_embedding(app: faust.App, ctx: StreamContext) -> Any:
    from streams.app import raw_topic

    memories = raw_topic(app, ctx.settings.topics.memories)
    # About one event in four on this topic is a MemoryExtracted (the others are entities, vectors and
    # activations), so take four times the wanted texts per batch to hand the model full batches.
    events_per_batch = ctx.settings.embed_batch_size * EVENTS_PER_EXTRACTED
    within = ctx.settings.embed_batch_seconds

    @app.agent(memories, name="embedding")
    async def embed(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        async for batch in stream.take_events(  # type: ignore[attr-defined]  # faust-streaming has it; its StreamT stub lags
            events_per_batch, within=within
        ):
            extracted: list[MemoryExtracted | MemoryUpdated] = []
            for event in batch:
                # Most of this topic is other event types (vectors among them): read the header, not the body.
                if ctx.codec.record_name(event.value) not in _EMBEDDED_TYPES:
                    continue
                try:
                    decoded = ctx.codec.decode(event.value)
                except DecodeError:
                    continue  # the projectors dead-letter bad memory events; this agent only embeds
                extracted.append(decoded)
            if not extracted:
                continue
            embedder = ctx.embedder
            vectors = await loop.run_in_executor(None, embedder.embed, [embedding_text(m) for m in extracted])
            now = datetime.now(UTC)
            futures = []
            for memory, vector in zip(extracted, vectors, strict=True):
                for produced in embedding_events(memory, vector.tolist(), embedder.model_name, now):
                    futures.append(await memories.send(key=memory.scope.key.encode(), value=ctx.codec.encode(produced)))
            await asyncio.gather(*futures)

    return embed
