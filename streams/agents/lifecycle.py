"""Lifecycle agent: per user, a Faust table folded from the memory log; decisions become memory events.

It reads the memory log and the commands topic (both keyed by scope, so co-partitioned with the table).
- Memory events are folded into the user's state (``memory.lifecycle.state``); an event asking for an
  illegal transition goes to the dead-letter topic with its reason.
- Decisions (``memory.lifecycle.decisions`` and the ``on_*`` modules beside it) are taken from the state,
  not from whether the event was new: a batch replayed after a crash decides again and produces the same
  derived ids, which collapse. So a decision is never lost between producing its events and committing the
  offsets.
- Commands (update, pin, delete, erase, tick, core memory block edits) come from the API, the SDKs and the
  timer below, which ticks every user this worker holds; a tick evaluates decay and consolidation as of its
  ``occurred_at``, which is how tests drive a simulated clock.
The table is written once per changed memory per batch; its changelog writes and the produced events are
acknowledged by the broker before the batch is settled (streams.settlement). An event that fails in a way
no rule expects is dead-lettered and the batch decided again without it; a failed send or a Milvus outage
fails the batch, which is then read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust

from adapters import faults
from adapters.log_offsets import LogOffsets
from adapters.logs import log_batch
from adapters.metrics import LIFECYCLE_DECISIONS
from memory.contract.events import (
    Event,
    MemoryAccessed,
    MemoryActivated,
    MemoryCommandIssued,
    MemoryEmbedded,
    Scope,
    new_command,
)
from memory.errors import DecodeError, InvalidEventError
from memory.lifecycle.on_access import after_access, after_activation
from memory.lifecycle.on_command import on_command
from memory.lifecycle.on_embedding import after_embedding
from memory.lifecycle.on_tick import needs_another_tick
from memory.lifecycle.state import UserState, fold
from streams.agents.lifecycle_store import ChangelogEntry, LifecycleStore
from streams.agents.tick_gate import Backlog, TickGate
from streams.context import StreamContext
from streams.offsets import settlement_of
from streams.output import DeadLetterSender, Rejected, send_all
from streams.settlement import retrying
from streams.topics import raw_topic

log = logging.getLogger(__name__)
COMPONENT = "streams.lifecycle"
BATCH = 200
WITHIN_SECONDS = 0.05
DEFER_PAUSE_SECONDS = 0.2


def register_lifecycle(app: faust.App, ctx: StreamContext) -> Any:
    topics = ctx.settings.topics
    source = app.topic(
        topics.memories, topics.commands, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    memories = raw_topic(app, topics.memories)
    commands = raw_topic(app, topics.commands)
    dead_letters = DeadLetterSender(app, ctx.codec, topics.deadletter, COMPONENT)
    settlement = settlement_of(app)
    settlement.reads(COMPONENT, topics.memories, topics.commands)  # the commit passes only offsets its readers finished
    table = app.Table(
        "lifecycle",
        default=None,
        key_type=bytes,
        value_type=bytes,  # the app's serializers are raw: the state is our own JSON
        partitions=ctx.settings.kafka_partitions,
        # A RocksDB store then finds a key in whichever partition's database holds it, not only in the current
        # event's (a batch spans users and partitions); the agent names each entry's partition itself when it
        # sends, so the flag's other effect (the producer choosing the partition) never applies.
        use_partitioner=True,
    )
    store = LifecycleStore(table, rebalancing=lambda: bool(app.rebalancing))
    offsets = LogOffsets(ctx.settings)

    async def memory_log_backlog(partitions: list[int]) -> dict[int, Backlog]:
        wanted = [(topics.memories, p) for p in partitions]
        committed = await offsets.committed(ctx.settings.faust_app_id, wanted)
        ends = await offsets.ends(wanted)
        return {p: (committed.get((topics.memories, p)), ends[(topics.memories, p)]) for p in partitions}

    gate = TickGate(memory_log_backlog)
    held_ticks: dict[int, dict[str, bytes]] = {}  # partition -> user -> the timer's latest tick, at a shut gate

    @app.on_partitions_revoked.connect
    async def _revoked(*_: Any, **__: Any) -> None:
        store.forget_cache()  # what this worker folded may now change elsewhere
        gate.reset()
        held_ticks.clear()  # their users may be another worker's now, whose timer ticks them

    @app.on_partitions_assigned.connect
    async def _assigned(*_: Any, **__: Any) -> None:
        store.forget_cache()  # newly assigned users come from the restored table
        gate.reset()  # and ticks wait until the table is whole (streams.agents.tick_gate)

    @app.on_rebalance_complete.connect
    async def _recovered(*_: Any, **__: Any) -> None:
        store.forget_cache()  # the table is whole again: read users afresh from it

    def decide(decoded_batch: list[tuple[faust.EventT, Event]], neighbours: dict[str, dict[str, float]]) -> Decisions:
        """Fold the batch into the users' states and decide; raises ``EventFailed`` for an unexpected error."""
        decisions = Decisions()
        for event, decoded in decoded_batch:
            scope_key = decoded.scope.key
            if scope_key not in decisions.last_event or event.message.topic == topics.memories:
                decisions.last_event[scope_key] = event  # the user's state lives in their memory-log partition
            partition = event.message.partition
            if event.message.topic == topics.memories:
                decisions.folded[partition] = max(decisions.folded.get(partition, -1), event.message.offset)
            elif _is_tick(decoded) and not gate.is_open(partition):
                if decoded.envelope.producer.component == COMPONENT:
                    # The timer's own: held here, the latest per user, and sent again once the gate opens (a
                    # crash loses only what the next timer tick redoes).
                    held_ticks.setdefault(partition, {})[scope_key] = event.value
                else:
                    # Someone asked for it: round the commands topic once more, on the broker before the commit.
                    decisions.deferred.append((scope_key.encode(), event.value))
                continue
            if scope_key not in decisions.states:
                decisions.states[scope_key] = store.load(scope_key)
            try:
                faults.trip("lifecycle.event", _subject(decoded))
                produced = _handle(ctx, decisions.states[scope_key], decoded, neighbours)
            except InvalidEventError as exc:
                decisions.rejected.append(Rejected(event, str(exc), exc, decoded.envelope.correlation_id))
                continue
            except Exception as exc:
                raise EventFailed(event, exc) from exc
            decisions.outputs.extend((scope_key.encode(), ctx.codec.encode(e)) for e in produced)
            if _is_tick(decoded) and needs_another_tick(produced, ctx.policy):
                # The next step of a consolidation backlog, at the same ``now``: the timer's kind of tick, so the
                # gate holds it until this step's events are read back and folded (its originals are taken).
                follow_up = tick_command(decoded.scope, decoded.envelope.occurred_at)
                decisions.deferred.append((scope_key.encode(), ctx.codec.encode(follow_up)))
            decisions.kinds.update(type(e).__name__ for e in produced)
        return decisions

    def decide_around_failures(
        decoded_batch: list[tuple[faust.EventT, Event]], neighbours: dict[str, dict[str, float]]
    ) -> Decisions:
        """Decide the batch; an event that fails unexpectedly is dead-lettered, and the batch is decided
        again without it from the table (folding may have half-changed a cached state before it failed)."""
        failed: list[Rejected] = []
        pending_before = {scope: set(ids) for scope, ids in ctx.pending.items()}
        while True:
            try:
                decisions = decide(decoded_batch, neighbours)
                decisions.rejected.extend(failed)
                return decisions
            except EventFailed as failure:
                correlation = next(d.envelope.correlation_id for e, d in decoded_batch if e is failure.event)
                log.exception("%s: deciding on an event failed", COMPONENT, extra={"correlation_ids": [correlation]})
                error = failure.error
                reason = f"lifecycle failed: {type(error).__name__}: {error}"
                failed.append(Rejected(failure.event, reason, error, correlation))
                decoded_batch = [(e, d) for e, d in decoded_batch if e is not failure.event]
                store.forget_cache()
                ctx.pending.clear()
                ctx.pending.update(pending_before)

    async def publish(decisions: Decisions) -> None:
        await dead_letters.send(decisions.rejected)
        # The events before the table: a block decision folds its own event into the state at once
        # (memory.lifecycle.on_command), so a saved state must never hold an edit whose event could be lost.
        # Both are on the broker before this batch is settled.
        written = await send_all(memories, decisions.outputs, "lifecycle.send", COMPONENT)
        for record in written:
            gate.produced(record.partition, record.offset)  # ticks wait until it is read back
        await store.send(decisions.changelog)
        if decisions.deferred:
            if not (decisions.folded or decisions.outputs):
                # Only ticks waiting on a backlog this worker is not reading yet: do not spin on the topic.
                await asyncio.sleep(DEFER_PAUSE_SECONDS)
            await send_all(commands, decisions.deferred, "lifecycle.send", COMPONENT)

    async def release_held_ticks() -> None:
        opened = [p for p in held_ticks if gate.is_open(p)]
        ticks = [(key.encode(), value) for p in opened for key, value in held_ticks.pop(p).items()]
        if ticks:
            await send_all(commands, ticks, "lifecycle.send", COMPONENT)

    @app.agent(source, name="lifecycle")
    async def lifecycle(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        async for batch in stream.take_events(BATCH, within=WITHIN_SECONDS):  # type: ignore[attr-defined]
            async with settlement.settling(batch, COMPONENT):
                decoded_batch: list[tuple[faust.EventT, Event]] = []
                undecodable: list[Rejected] = []
                for event in batch:
                    try:
                        decoded = ctx.codec.decode(event.value)
                    except DecodeError as exc:
                        if event.message.topic == topics.commands:
                            undecodable.append(Rejected(event, str(exc), exc))
                        continue  # a bad memory event is the projectors' to dead-letter; it changes nothing here
                    if isinstance(decoded, Event):
                        decoded_batch.append((event, decoded))
                # A broker that cannot say where the memory log ends fails the batch too (read again later).
                await gate.prepare(e.message.partition for e, d in decoded_batch if _is_tick(d))
                # A Milvus outage fails the batch (read again later); it is no event's fault.
                neighbours = await loop.run_in_executor(None, _index_neighbours, ctx, [d for _, d in decoded_batch])
                decisions = decide_around_failures(decoded_batch, neighbours)
                decisions.rejected.extend(undecodable)
                for scope_key, state in decisions.states.items():
                    partition = decisions.last_event[scope_key].message.partition
                    decisions.changelog.extend(store.save(scope_key, state, partition))
                try:
                    await retrying(f"{COMPONENT}: sending a batch's events", partial(publish, decisions))
                except Exception:
                    store.forget_cache()  # states folded ahead of events that were not sent: read the table again
                    raise
                for kind, count in decisions.kinds.items():
                    LIFECYCLE_DECISIONS.labels(kind).inc(count)
                correlations = [decoded.envelope.correlation_id for _, decoded in decoded_batch]
                log_batch(log, COMPONENT, correlations, len(batch), decisions=dict(decisions.kinds))
                store.apply(decisions.changelog)
                for partition, offset in decisions.folded.items():
                    gate.folded(partition, offset)  # only now: a batch whose sends failed is folded again
                await release_held_ticks()
                if decisions.deferred:
                    log.info("%s: %d ticks wait for the memory log's backlog", COMPONENT, len(decisions.deferred))

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


@dataclass
class Decisions:
    """What deciding a batch came to: users' states, events to send, table changes, and dead letters."""

    states: dict[str, UserState] = field(default_factory=dict)
    last_event: dict[str, faust.EventT] = field(default_factory=dict)
    outputs: list[tuple[bytes, bytes]] = field(default_factory=list)
    changelog: list[ChangelogEntry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # the decided events by type, for the metrics
    folded: dict[int, int] = field(default_factory=dict)  # memory-log partition -> last offset folded
    deferred: list[tuple[bytes, bytes]] = field(default_factory=list)  # ticks sent round again (tick_gate)


class EventFailed(Exception):
    """Deciding on this event raised something no rule expects (a bug, or a fault drill's poison)."""

    def __init__(self, event: faust.EventT, error: Exception):
        super().__init__(str(error))
        self.event = event
        self.error = error


def _is_tick(event: Event) -> bool:
    return isinstance(event, MemoryCommandIssued) and event.command == "tick"


def _subject(event: Event) -> str:
    """What a fault drill's needle is matched against: the memory's text, or the command's."""
    return str(getattr(event, "text", "") or "")


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
