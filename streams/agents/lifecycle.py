"""Lifecycle agent: per user, a Faust table folded from the memory log; decisions become memory events.

It reads the memory log and the commands topic (both keyed by scope, so co-partitioned with the table).
- Memory events are folded into the user's state (``memory.lifecycle_state``); an event asking for an
  illegal transition goes to the dead-letter topic with its reason.
- Decisions (``memory.lifecycle_decisions``) are taken from the state, not from whether the event was new:
  a batch replayed after a crash decides again and produces the same derived ids, which collapse. So a
  decision is never lost between producing its events and committing the offsets.
- Commands (update, pin, delete, erase, tick) come from the API, the SDKs and the timer below, which ticks
  every user this worker holds; a tick evaluates decay and consolidation as of its ``occurred_at``, which
  is how tests drive a simulated clock.
The table is written once per changed memory per batch; its changelog writes and the produced events are
acknowledged by the broker before Faust may commit the batch's offsets.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from adapters.kafka import dead_letter
from memory.errors import DecodeError, InvalidEventError
from memory.events import (
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryCommandIssued,
    MemoryEmbedded,
    Scope,
    new_command,
)
from memory.lifecycle_decisions import after_access, after_activation, after_embedding, on_command
from memory.lifecycle_state import UserState, fold
from streams.agents.lifecycle_store import LifecycleStore
from streams.context import StreamContext

log = logging.getLogger(__name__)
COMPONENT = "streams.lifecycle"
BATCH = 200
WITHIN_SECONDS = 0.05


def register_lifecycle(app: faust.App, ctx: StreamContext) -> Any:
    from streams.app import raw_topic

    topics = ctx.settings.topics
    source = app.topic(
        topics.memories, topics.commands, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    memories = raw_topic(app, topics.memories)
    commands = raw_topic(app, topics.commands)
    deadletters = raw_topic(app, topics.deadletter)
    table = app.Table(
        "lifecycle",
        default=None,
        key_type=bytes,
        value_type=bytes,  # the app's serializers are raw: the state is our own JSON
        partitions=ctx.settings.kafka_partitions,
    )
    store = LifecycleStore(table, rebalancing=lambda: bool(app.rebalancing))

    @app.on_partitions_revoked.connect
    async def _revoked(*_: Any, **__: Any) -> None:
        store.forget_cache()  # what this worker folded may now change elsewhere

    @app.on_partitions_assigned.connect
    async def _assigned(*_: Any, **__: Any) -> None:
        store.forget_cache()  # newly assigned users come from the restored table

    @app.on_rebalance_complete.connect
    async def _recovered(*_: Any, **__: Any) -> None:
        store.forget_cache()  # the table is whole again: read users afresh from it

    async def reject(event: faust.EventT, reason: str, error: BaseException) -> None:
        msg = event.message
        log.warning("dead-lettering %s/%s/%s: %s", msg.topic, msg.partition, msg.offset, reason)
        payload = dead_letter(
            ctx.codec, COMPONENT, reason, error, msg.topic, msg.partition, msg.offset, msg.key, msg.value
        )
        await (await deadletters.send(key=msg.key, value=payload))

    @app.agent(source, name="lifecycle")
    async def lifecycle(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        async for batch in stream.take_events(BATCH, within=WITHIN_SECONDS):  # type: ignore[attr-defined]
            states: dict[str, UserState] = {}
            last_event: dict[str, faust.EventT] = {}
            outputs: list[tuple[bytes, Event]] = []
            decoded_batch: list[tuple[faust.EventT, Event]] = []
            for event in batch:
                try:
                    decoded = ctx.codec.decode(event.value)
                except DecodeError as exc:
                    if event.message.topic == topics.commands:
                        await reject(event, str(exc), exc)
                    continue  # a bad memory event is the projectors' to dead-letter; it changes nothing here
                if isinstance(decoded, Event):
                    decoded_batch.append((event, decoded))
            neighbours = await loop.run_in_executor(None, _index_neighbours, ctx, [d for _, d in decoded_batch])
            for event, decoded in decoded_batch:
                scope_key = decoded.scope.key
                if scope_key not in last_event or event.message.topic == topics.memories:
                    last_event[scope_key] = event  # the user's state lives in their memory-log partition
                if scope_key not in states:
                    states[scope_key] = store.load(scope_key)
                try:
                    produced = _handle(ctx, states[scope_key], decoded, neighbours)
                except InvalidEventError as exc:
                    await reject(event, str(exc), exc)
                    continue
                outputs.extend((scope_key.encode(), e) for e in produced)
            sends = []
            for scope_key, state in states.items():
                sends.extend(store.save(scope_key, state, last_event[scope_key].message.partition))
            await asyncio.gather(*sends)  # the table is on the broker before this batch is acknowledged
            futures = [await memories.send(key=key, value=ctx.codec.encode(e)) for key, e in outputs]
            await asyncio.gather(*futures)  # acknowledged before Faust may commit this batch

    if ctx.settings.lifecycle_tick_seconds > 0:

        @app.timer(interval=ctx.settings.lifecycle_tick_seconds)
        async def tick_users() -> None:
            """Tick every user whose partition this worker holds (read-only use of the table)."""
            now = datetime.now(UTC)
            for scope_key in store.scopes():
                app_id, _, user_id = scope_key.partition("/")
                command = tick_command(Scope(app_id, user_id), now)
                await commands.send(key=scope_key.encode(), value=ctx.codec.encode(command))

    return lifecycle


def _index_neighbours(ctx: StreamContext, events: list[Event]) -> dict[str, dict[str, float]]:
    """Dense-index neighbours of every vector in the batch, one search per user (runs in a thread)."""
    per_user: dict[str, tuple[Scope, list[tuple[str, tuple[float, ...]]]]] = {}
    for event in events:
        if isinstance(event, MemoryEmbedded):
            per_user.setdefault(event.scope.key, (event.scope, []))[1].append((event.memory_id, event.vector))
    found: dict[str, dict[str, float]] = {}
    for scope, queries in per_user.values():
        found.update(ctx.index_neighbours(scope, queries))
    return found


def _handle(ctx: StreamContext, state: UserState, event: Event, neighbours: dict[str, dict[str, float]]) -> list[Event]:
    if isinstance(event, MemoryCommandIssued):
        return on_command(state, event, ctx.policy)
    fold(state, event)  # raises IllegalLifecycleEvent (an InvalidEventError) for a forbidden transition
    pending = ctx.pending.setdefault(event.scope.key, set())
    if isinstance(event, MemoryEmbedded):
        similar = {
            **neighbours.get(event.memory_id, {}),
            **ctx.recent_neighbours(event.scope, event.memory_id, event.vector),
        }
        ctx.remember_vector(event.scope, event.memory_id, event.vector)
        decided = after_embedding(state, event, sorted(similar.items(), key=lambda kv: -kv[1]), ctx.policy, pending)
        pending.update(e.memory_id for e in decided if isinstance(e, MemoryActivated))
        return decided
    if isinstance(event, MemoryAccessed):
        return after_access(state, event)
    if isinstance(event, MemoryActivated):
        pending.discard(event.memory_id)
        return after_activation(state, event)
    return []


def tick_command(scope: Scope, now: datetime, component: str = COMPONENT) -> MemoryCommandIssued:
    return new_command(scope, "tick", now, component)
