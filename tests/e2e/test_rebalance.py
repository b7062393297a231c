"""Rebalances lose nothing (issue 15, point 2), with real processes, a real HAProxy and the real stack.

8 partitions, 3 stream workers, 2 projector processes and 2 API processes behind the balancer, under a steady ingest
of LoCoMo turns (30 users) and searches of those users. The workers' timers tick every few seconds, and the turns
are years old, so consolidations are decided while partitions move. One after another: kill -9 a worker, then a
projector, then an API process, then add a worker. Afterwards:

- every turn was processed exactly once in effect: each is in the conversation log once, every memory the pure
  extractor makes of it is stored, and a rebuild of every store from offset 0 verifies equal to the live stores
  (``memstream replay verify``), which holds no memory, vector, node or key twice;
- no search failed: what the killed API process could not answer, the balancer sent to the other;
- every lifecycle decision was made once: on the memory log there is one event id per decision and memory. A
  decision taken again after a rebalance reuses its derived id; one taken differently would show as a second.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from adapters.kafka import ensure_topics
from adapters.kafka_auth import client_config
from bench.locomo_data import load_conversations, turn_event
from memory.contract.events import (
    ConversationTurnReceived,
    MemoryActivated,
    MemoryArchived,
    MemoryConsolidated,
    MemoryConsolidating,
    MemoryReinforced,
)
from memory.contract.ids import memory_id_for
from memory.ingest.derivation import turn_input
from memory.ingest.extraction import extract_facts
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import System, start_system
from tests.e2e.conftest import RunningSystem, free_port_block
from tests.e2e.memory_log import read_memory_log
from tests.e2e.test_crash_safety import Feeder, Offsets, wait_settled
from tests.support import isolated_settings, unique, wait_while_progressing

LOCOMO = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10.json"
USERS_PER_CONVERSATION = 3  # LoCoMo's 10 conversations split in three: 30 users, spread over the 8 partitions
TURNS_PER_USER = 30
FEED_PER_SECOND = 12.0  # slower than the pipeline, so the ingest is still under way at every step


def locomo_turns(app_id: str) -> list[ConversationTurnReceived]:
    """Consecutive turns of each LoCoMo conversation, each third of a conversation as its own user, dated as
    LoCoMo dates them (2023: old enough to consolidate)."""
    turns: list[ConversationTurnReceived] = []
    for conversation in load_conversations(LOCOMO):
        for part in range(USERS_PER_CONVERSATION):
            start = part * TURNS_PER_USER
            for turn in conversation.turns[start : start + TURNS_PER_USER]:
                user_turn = replace(turn, sample_id=f"{conversation.sample_id}-{part}")
                turns.append(turn_event(user_turn, app_id, "tests.rebalance"))
    # Interleaved across users, as live traffic is, so every partition is busy at every step.
    return sorted(turns, key=lambda t: (int(t.turn_id.split(":")[1]), t.scope.user_id))


def expected_memories(turns: list[ConversationTurnReceived]) -> dict[str, str]:
    """memory id -> turn id, from the same pure extractor the workers run."""
    return {
        memory_id_for(turn.event_id, position): turn.turn_id
        for turn in turns
        for position, _ in enumerate(extract_facts(turn_input(turn)))
    }


def stored_memories(settings: Settings, app_id: str) -> Counter[str]:
    try:
        with psycopg.connect(settings.postgres_dsn, connect_timeout=3) as conn:
            rows = conn.execute(
                "SELECT memory_id FROM memories WHERE app_id = %s AND kind <> 'summary'", (app_id,)
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        return Counter()  # the projector has not made its tables yet
    return Counter(r[0] for r in rows)


@dataclass
class Searches:
    """Searches of the ingested users through the balancer, back to back from two threads."""

    running: RunningSystem
    users: list[str]
    outcomes: list[tuple[float, int, str]] = field(default_factory=list)  # (when, status or 0, instance or error)
    stopping: threading.Event = field(default_factory=threading.Event)

    def _loop(self, offset: int) -> None:
        queries = ("where did they travel", "what does she paint", "who supports them", "when was the race")
        with self.running.client(timeout=30) as client:
            for n in range(offset, 10**9, 2):
                if self.stopping.is_set():
                    return
                body = {"query": queries[n % len(queries)], "user_id": self.users[n % len(self.users)], "top_k": 5}
                try:
                    response = client.post("/v1/memories/search", json=body)
                    outcome = (time.monotonic(), response.status_code, response.headers.get("x-memstream-instance", ""))
                except httpx.HTTPError as exc:
                    outcome = (time.monotonic(), 0, repr(exc))
                self.outcomes.append(outcome)

    def __enter__(self) -> Searches:
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(2)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def since(self, moment: float) -> list[tuple[float, int, str]]:
        return [o for o in list(self.outcomes) if o[0] > moment]


def decisions_on_log(settings: Settings) -> dict[str, dict[str, set[str]]]:
    """Every lifecycle decision on the memory log: decision -> the memory it is about -> its distinct event ids."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for event in read_memory_log(settings):
        if isinstance(event, MemoryActivated | MemoryConsolidating | MemoryArchived | MemoryConsolidated):
            found[type(event).__name__][event.memory_id].add(event.event_id)
        elif isinstance(event, MemoryReinforced):  # about the repeat, which reinforces one memory once
            found["MemoryReinforced"][event.duplicate_memory_id].add(event.event_id)
    return found


def partitions_behind(settings: Settings) -> dict[str, dict[str, tuple[int, int]]]:
    """Per consumer group, the partitions whose commit is behind the log: (committed, end)."""
    behind: dict[str, dict[str, tuple[int, int]]] = {}
    for name, (group, topics) in Offsets(settings).groups.items():
        consumer = Consumer(client_config(settings, **{"group.id": group, "enable.auto.commit": False}))
        wanted = [TopicPartition(t, p) for t in topics for p in range(settings.kafka_partitions)]
        for tp in consumer.committed(wanted, timeout=10):
            end = consumer.get_watermark_offsets(tp, timeout=10)[1]
            if max(tp.offset, 0) < end:
                behind.setdefault(name, {})[f"{tp.topic.rsplit('.', 1)[-1]}[{tp.partition}]"] = (tp.offset, end)
        consumer.close()
    return behind


@pytest.fixture(scope="module")
def scaled(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    settings = isolated_settings(
        stack_settings,
        api_port=free_port_block(2),
        kafka_partitions=8,
        lifecycle_tick_seconds=10.0,  # consolidations are decided all along, across the rebalances
        decay_enabled=False,  # years-old memories would fade and be forgotten: not what this test counts
    )
    ensure_topics(settings)
    system = start_system(settings, tmp_path_factory.mktemp("logs"), workers=3, projectors=2, apis=2)
    try:
        system.wait_ready()
        yield RunningSystem(system, unique("app-"))
    finally:
        system.stop()


# Three of the workers' tick periods: a lifecycle that still had something to decide would have written it.
QUIET_TICKS = 3


def wait_decided(system: System, settings: Settings, limit: float = 900.0) -> None:
    """Every consumer settled, and the memory log no longer growing across ``QUIET_TICKS`` tick periods."""
    offsets = Offsets(settings)
    quiet = QUIET_TICKS * settings.lifecycle_tick_seconds
    started = time.monotonic()
    try:
        while True:
            wait_settled(system, offsets, stall=240, what="every consumer past the end of its topics")
            logged, since = offsets.total(settings.topics.memories), time.monotonic()
            while offsets.total(settings.topics.memories) == logged and time.monotonic() - since < quiet:
                system.check_alive()
                time.sleep(1.0)
            if offsets.total(settings.topics.memories) == logged:
                return
            assert time.monotonic() - started < limit, "the lifecycle kept deciding for 15 minutes after the ingest"
    finally:
        offsets.close()


def step(system: System, what: str, began: float) -> None:
    system.check_alive()
    print(f"[rebalance] {what} at {time.monotonic() - began:.0f}s", flush=True)


@pytest.mark.timeout(1800)
def test_kill_a_worker_a_projector_and_an_api_then_add_a_worker_loses_and_repeats_nothing(
    scaled: RunningSystem,
) -> None:
    running, system, settings = scaled, scaled.system, scaled.settings
    assert system.instances("streams") == ["streams-1", "streams-2", "streams-3"]
    turns = locomo_turns(running.app_id)
    expected = expected_memories(turns)
    users = sorted({t.scope.user_id for t in turns})
    began = time.monotonic()
    feeder = Feeder(settings, turns, per_second=FEED_PER_SECOND)

    def stored() -> int:
        system.check_alive()
        return len(stored_memories(settings, running.app_id).keys() & expected.keys())

    def reach(share: float, what: str) -> None:
        wait_while_progressing(stored, int(len(expected) * share), stall=240, what=what)

    with Searches(running, users) as searches:
        feeder.start()
        try:
            reach(0.15, "the ingest under way")
            assert system.kill("streams-2", signal.SIGKILL) == -signal.SIGKILL
            step(system, "killed streams-2", began)
            reach(0.35, "progress without streams-2")
            assert system.kill("projections-1", signal.SIGKILL) == -signal.SIGKILL
            step(system, "killed projections-1", began)
            reach(0.5, "progress without projections-1")
            assert system.kill("api-1", signal.SIGKILL) == -signal.SIGKILL
            api_killed = time.monotonic()
            step(system, "killed api-1", began)
            reach(0.65, "progress without api-1")
            added = system.add("streams")
            step(system, f"added {added}", began)
            feeder.finish(timeout=120)
            reach(1.0, "every memory after the rebalances")
        finally:
            feeder.stop_event.set()
        survivors = searches.since(api_killed)
    # The searches stop here: each writes access events to the memory log, so the log would never stop growing.
    try:
        wait_settled(system, Offsets(settings), stall=240, what="every consumer past the end of its topics")
    except AssertionError as exc:
        raise AssertionError(f"{str(exc)[:400]}; behind: {partitions_behind(settings)}") from None
    step(system, "settled", began)

    failed = [o for o in searches.outcomes if o[1] != 200]
    assert not failed, f"{len(failed)} of {len(searches.outcomes)} searches failed, e.g. {failed[:3]}"
    assert len(survivors) >= 20 and {o[2] for o in survivors[-10:]} == {"api-2"}, survivors[-10:]

    # Every turn once, every memory it gives stored (once: memory_id is the table's key).
    with psycopg.connect(settings.postgres_dsn) as conn:
        logged = conn.execute(
            "SELECT count(*), count(DISTINCT (user_id, turn_id)) FROM conversation_turns WHERE app_id = %s",
            (running.app_id,),
        ).fetchone()
    assert logged == (len(turns), len(turns)), f"conversation log: {logged} for {len(turns)} turns"
    held = stored_memories(settings, running.app_id)
    assert held.keys() == expected.keys(), (
        f"{len(expected.keys() - held.keys())} memories missing, {len(held.keys() - expected.keys())} unexpected"
    )

    # Each decision once: one event id per decision and memory; a memory activated or folded into another, not both.
    decided = decisions_on_log(settings)
    repeated = {kind: [m for m, ids in per.items() if len(ids) > 1] for kind, per in decided.items()}
    assert not any(repeated.values()), {k: v[:3] for k, v in repeated.items() if v}
    both = decided["MemoryActivated"].keys() & decided["MemoryReinforced"].keys()
    assert not both, f"memories both activated and merged as repeats: {sorted(both)[:3]}"
    assert decided["MemoryActivated"].keys() | decided["MemoryReinforced"].keys() >= expected.keys()
    assert decided["MemoryConsolidated"], "no consolidation was decided: the test did not exercise one"

    # The live stores equal a rebuild from offset 0, through the operator's own commands. The timers keep ticking,
    # and a consolidation goes on in steps (summaries of summaries) after the ingest ends: compare once the
    # lifecycle has nothing left to decide, or the live stores move on while the rebuild reads.
    wait_decided(system, settings)
    rebuilt = running.cli("replay", "rebuild", "--projection", "all", "--target", "afterrebalance")
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    verified = running.cli("replay", "verify", "--target", "afterrebalance")
    assert verified.returncode == 0 and "DIFFERENT" not in verified.stdout, verified.stdout[-3000:]
    running.cli("replay", "drop", "--target", "afterrebalance")
    step(system, "verified", began)

