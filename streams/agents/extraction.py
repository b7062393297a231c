"""Extraction agent: a conversation turn becomes memory events (MemoryExtracted, EntitiesLinked).

The agent remembers the last turns of recently active conversations in process
(memory.ingest.conversation_context), so that a memory carries the turn before it as context. A turn that cannot
be handled (undecodable, invalid, or one the extractor fails on) goes to the dead-letter topic with the
reason and the batch goes on; if sending fails, the whole batch is read again (streams.settlement).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust

from adapters import faults
from adapters.logs import log_batch
from memory.contract.events import ConversationTurnReceived, Event
from memory.errors import DecodeError, InvalidEventError
from memory.ingest.conversation_context import RECENT_CONVERSATIONS, RecentConversations
from memory.ingest.derivation import extraction_events, turn_input, validate_turn
from memory.ingest.extraction import verbatim_fact
from streams.context import StreamContext
from streams.offsets import settlement_of
from streams.output import DeadLetterSender, Rejected, send_all
from streams.settlement import retrying
from streams.topics import raw_topic

log = logging.getLogger(__name__)
COMPONENT = "streams.extraction"
EXTRACTION_BATCH = 100
EXTRACTION_WITHIN_SECONDS = 0.05


def register_extraction(app: faust.App, ctx: StreamContext) -> Any:
    topics = ctx.settings.topics
    turns = raw_topic(app, topics.turns)
    memories = raw_topic(app, topics.memories)
    dead_letters = DeadLetterSender(app, ctx.codec, topics.deadletter, COMPONENT)
    recent = RecentConversations(RECENT_CONVERSATIONS)
    settlement = settlement_of(app)
    settlement.reads(COMPONENT, topics.turns)  # the commit passes only offsets its readers finished

    def decode(event: faust.EventT) -> ConversationTurnReceived:
        turn = ctx.codec.decode(event.value)
        if not isinstance(turn, ConversationTurnReceived):
            raise DecodeError(f"{type(turn).__name__} does not belong on the turns topic")
        return turn

    async def extract_one(turn: ConversationTurnReceived) -> list[Event]:
        faults.trip("extraction.turn", turn.text)
        if turn.infer:
            loop = asyncio.get_running_loop()
            facts = await loop.run_in_executor(None, ctx.extractor, turn_input(turn))
            extractor = ctx.extractor_name
        else:
            facts, extractor = [verbatim_fact(turn_input(turn))], "verbatim"
        return extraction_events(turn, facts, extractor, datetime.now(UTC), recent.context_for(turn))

    async def publish(outputs: list[tuple[bytes, bytes]], rejected: list[Rejected]) -> None:
        await dead_letters.send(rejected)
        await send_all(memories, outputs, "extraction.send", COMPONENT)  # acknowledged before the turns' offsets commit

    @app.agent(turns, name="extraction")
    async def extract(stream: faust.StreamT[bytes]) -> None:
        # Batches amortise the broker round trip: one wait for acknowledgements per batch, not per turn.
        async for batch in stream.take_events(  # type: ignore[attr-defined]  # faust-streaming has it; its StreamT stub lags
            EXTRACTION_BATCH, within=EXTRACTION_WITHIN_SECONDS
        ):
            async with settlement.settling(batch, COMPONENT):
                outputs: list[tuple[bytes, bytes]] = []
                rejected: list[Rejected] = []
                correlations: list[str | None] = []
                for event in batch:
                    try:
                        turn = decode(event)
                    except DecodeError as exc:
                        rejected.append(Rejected(event, str(exc), exc))
                        continue
                    correlation = turn.envelope.correlation_id
                    try:
                        validate_turn(turn, ctx.settings.max_content_chars)
                    except InvalidEventError as exc:
                        rejected.append(Rejected(event, str(exc), exc, correlation))
                        continue
                    try:
                        produced = await extract_one(turn)
                    except Exception as exc:  # a fault of ours on this one turn: it must not cost the others
                        log.exception(
                            "%s: extraction failed on a turn", COMPONENT, extra={"correlation_ids": [correlation]}
                        )
                        reason = f"extraction failed: {type(exc).__name__}: {exc}"
                        rejected.append(Rejected(event, reason, exc, correlation))
                        continue
                    key = turn.scope.key.encode()
                    outputs.extend((key, ctx.codec.encode(e)) for e in produced)
                    correlations.append(turn.envelope.correlation_id)

                await retrying(f"{COMPONENT}: sending a batch's events", partial(publish, outputs, rejected))
                log_batch(log, COMPONENT, correlations, len(batch), produced=len(outputs), rejected=len(rejected))

    return extract
