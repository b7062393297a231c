"""Extraction agent: a conversation turn becomes memory events (MemoryExtracted, EntitiesLinked).

The agent remembers the last turns of recently active conversations in process
(memory.conversation_context), so that a memory carries the turn before it as context. Bad turns
(undecodable, invalid) go to the dead-letter topic with the reason; the agent keeps going.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from adapters.kafka import dead_letter
from memory.conversation_context import RECENT_CONVERSATIONS, RecentConversations
from memory.derivation import extraction_events, turn_input, validate_turn
from memory.errors import DecodeError, InvalidEventError
from memory.events import ConversationTurnReceived
from memory.extraction import verbatim_fact
from streams.context import StreamContext

log = logging.getLogger(__name__)
COMPONENT = "streams.extraction"
EXTRACTION_BATCH = 100
EXTRACTION_WITHIN_SECONDS = 0.05


def register_extraction(app: faust.App, ctx: StreamContext) -> Any:
    from streams.app import raw_topic

    topics = ctx.settings.topics
    turns = raw_topic(app, topics.turns)
    memories = raw_topic(app, topics.memories)
    deadletters = raw_topic(app, topics.deadletter)
    recent = RecentConversations(RECENT_CONVERSATIONS)

    async def reject(event: faust.EventT, reason: str, error: BaseException) -> None:
        msg = event.message
        log.warning("dead-lettering turn at %s/%s/%s: %s", msg.topic, msg.partition, msg.offset, reason)
        payload = dead_letter(
            ctx.codec, COMPONENT, reason, error, msg.topic, msg.partition, msg.offset, msg.key, msg.value
        )
        await (await deadletters.send(key=msg.key, value=payload))

    @app.agent(turns, name="extraction")
    async def extract(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        # Batches amortise the broker round trip: one wait for acknowledgements per batch, not per turn.
        async for batch in stream.take_events(  # type: ignore[attr-defined]  # faust-streaming has it; its StreamT stub lags
            EXTRACTION_BATCH, within=EXTRACTION_WITHIN_SECONDS
        ):
            futures = []
            for event in batch:
                try:
                    turn = ctx.codec.decode(event.value)
                    if not isinstance(turn, ConversationTurnReceived):
                        raise DecodeError(f"{type(turn).__name__} does not belong on the turns topic")
                    validate_turn(turn, ctx.settings.max_content_chars)
                except (DecodeError, InvalidEventError) as exc:
                    await reject(event, str(exc), exc)
                    continue
                if turn.infer:
                    facts = await loop.run_in_executor(None, ctx.extractor, turn_input(turn))
                    extractor = ctx.extractor_name
                else:
                    facts, extractor = [verbatim_fact(turn_input(turn))], "verbatim"
                key = turn.scope.key.encode()
                context = recent.context_for(turn)
                for produced in extraction_events(turn, facts, extractor, datetime.now(UTC), context):
                    futures.append(await memories.send(key=key, value=ctx.codec.encode(produced)))
            await asyncio.gather(*futures)  # acknowledged before Faust may commit these turns' offsets

    return extract
