"""Write path: validate, turn requests into ConversationTurnReceived events, produce, answer with positions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from adapters.kafka import SyncProducer
from adapters.logs import REQUEST_ID
from api.errors import InvalidRequest
from api.refusals import answered_as_http
from api.schemas import AddMemoriesRequest, AddMemoriesResponse, CommandAccepted
from memory.contract.codec import Codec
from memory.contract.events import (
    ConversationTurnReceived,
    Envelope,
    MemoryCommandIssued,
    Producer,
    Scope,
    new_command,
)
from memory.contract.positions import encode_token
from memory.contract.validation import check_name, check_text
from memory.ingest.derivation import validate_turn
from memory.settings import Settings

COMPONENT = "api"


class MemoryWriter:
    def __init__(self, settings: Settings, producer: SyncProducer, codec: Codec, token_key: bytes):
        self._settings = settings
        self._producer = producer
        self._codec = codec
        self._token_key = token_key  # signs the consistency token (memory.contract.positions)

    def build_turns(self, body: AddMemoriesRequest, scope: Scope, now: datetime) -> list[ConversationTurnReceived]:
        """``scope``: what ``api.gateway.tenancy.authorize`` allowed for the body (its defaults filled in)."""
        if (body.messages is None) == (body.text is None):
            raise InvalidRequest("give exactly one of 'messages' or 'text'")
        if body.text is not None:
            contents: list[tuple[str, str | None, str]] = [("user", None, body.text)]
        else:
            contents = [(m.role, m.name, m.content) for m in body.messages or []]
        limit = self._settings.max_content_chars
        with answered_as_http():
            for index, (_, name, content) in enumerate(contents):
                where = "text" if body.text is not None else f"messages[{index}].content"
                check_text(content, where, limit)
                check_name(name, f"messages[{index}].name")
        request_id = str(uuid.uuid4())
        conversation_id = body.conversation_id or body.run_id or "default"
        # Aware by now (the schema refuses a naive one); only an absent occurred_at means "when it arrived".
        occurred_at = body.occurred_at.astimezone(UTC) if body.occurred_at is not None else now
        turns = []
        for index, (role, name, content) in enumerate(contents):
            event_id = str(uuid.uuid4())
            turns.append(
                ConversationTurnReceived(
                    envelope=Envelope(
                        event_id=event_id,
                        event_type="ConversationTurnReceived",
                        schema_version=1,
                        scope=scope,
                        occurred_at=occurred_at,
                        recorded_at=now,
                        causation_id=None,
                        # The HTTP request's id (adapters/logs.py), which the worker's and projectors' logs name.
                        correlation_id=REQUEST_ID.get() or request_id,
                        producer=Producer(COMPONENT),
                    ),
                    conversation_id=conversation_id,
                    turn_id=f"{request_id}:{index}",
                    role=role,
                    speaker=name,
                    text=content,
                    infer=body.infer,
                    metadata=dict(body.metadata),
                    session_id=body.session_id,
                )
            )
        with answered_as_http():
            # The rule extraction applies: what would be dead-lettered later is refused now.
            for turn in turns:
                validate_turn(turn, limit)
        return turns

    async def add(self, body: AddMemoriesRequest, scope: Scope) -> AddMemoriesResponse:
        turns = self.build_turns(body, scope, datetime.now(UTC))
        topic = self._settings.topics.turns
        messages = [(topic, t.scope.key.encode(), self._codec.encode(t)) for t in turns]
        positions = await asyncio.to_thread(self._producer.produce_all, messages)
        return AddMemoriesResponse(
            status="accepted",
            event_ids=[t.event_id for t in turns],
            consistency_token=encode_token(positions, self._token_key),
            positions=[{"topic": p.topic, "partition": p.partition, "offset": p.offset} for p in positions],
        )


class CommandWriter:
    """Update, pin, delete and erase go to the commands topic; the lifecycle agent turns them into events."""

    def __init__(self, settings: Settings, producer: SyncProducer, codec: Codec, token_key: bytes):
        self._settings = settings
        self._producer = producer
        self._codec = codec
        self._token_key = token_key

    async def issue(self, scope: Scope, commands: list[tuple[str, str | None, str | None]]) -> CommandAccepted:
        """``commands``: (command, memory id, text) in the order they must apply."""
        now = datetime.now(UTC)
        request_id = str(uuid.uuid4())
        events = [
            new_command(scope, command, now, COMPONENT, memory_id, text, correlation_id=REQUEST_ID.get() or request_id)
            for command, memory_id, text in commands
        ]
        return await self.send(scope, events)

    async def send(self, scope: Scope, events: list[MemoryCommandIssued]) -> CommandAccepted:
        """Produce commands built by the caller (e.g. ``api.blocks.writer``), in order, under the user's key."""
        topic = self._settings.topics.commands
        messages = [(topic, scope.key.encode(), self._codec.encode(e)) for e in events]
        positions = await asyncio.to_thread(self._producer.produce_all, messages)
        return CommandAccepted(
            status="accepted",
            event_ids=[e.event_id for e in events],
            consistency_token=encode_token(positions, self._token_key),
        )
