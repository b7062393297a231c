"""Extraction agent: a conversation turn becomes memory events (MemoryExtracted, EntitiesLinked).

Each conversation's recent turns live in a Faust table (memory.conversation_context), so that a memory
carries the turn before it as context. Bad turns (undecodable, invalid) go to the dead-letter topic with the
reason; the agent keeps going.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from adapters.kafka import dead_letter
from memory.conversation_context import RecentTurns, TurnPlace, place_turn, render_turn
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
    # Keyed by conversation; its changelog partition is the turn's (explicit: Faust would take the stream's
    # current event, which in a batch may be another user's), so a worker taking a user over restores them.
    recent_turns = app.Table(
        "recent-turns", default=None, key_type=bytes, value_type=bytes, partitions=ctx.settings.kafka_partitions
    )

    def place_in_conversation(turn: ConversationTurnReceived, partition: int, sends: list[Any]) -> TurnPlace:
        key = f"{turn.scope.key}\x1f{turn.conversation_id}".encode()
        recent = RecentTurns.from_json(recent_turns.data.get(key))
        place, after = place_turn(recent, turn.event_id, render_turn(turn.speaker or "", turn.text))
        if after != recent:
            value = after.to_json()
            recent_turns.data[key] = value
            sends.append(recent_turns.send_changelog(partition, key, value))
        return place

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
            futures: list[Any] = []
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
                place = place_in_conversation(turn, event.message.partition, futures)
                # A verbatim memory (infer=false) is the caller's own standalone statement: it is context for
                # the next turn but embedded without one.
                context = place.context if turn.infer else ""
                now = datetime.now(UTC)
                for produced in extraction_events(turn, facts, extractor, now, context, place.index):
                    futures.append(await memories.send(key=key, value=ctx.codec.encode(produced)))
            # Events and table acknowledged before Faust may commit these turns' offsets.
            await asyncio.gather(*futures)

    return extract
