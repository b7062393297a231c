"""The disaster-recovery drill: ingest into region A, mirror to region B, lose A, recover in B, compare.

Steps (docs/disaster-recovery.md is the same list as a runbook):

1. Region A: the pipeline's processes (worker, projectors, API) on the drill's own namespace (topics, schema,
   collection, label and key prefixes: it never touches live data), and region B's Kafka + MirrorMaker 2 from
   the local stack, mirroring those topics. ``turns`` turns go in through A's API; A's projections have them
   when A's searches (with each write's consistency token) find them and every projector has committed the end
   of the log.
2. While they go in, the replication lag (the recovery point) is sampled: records and seconds B's copy trails A.
3. Region A is declared gone: its processes stop and MirrorMaker 2 stops (nothing reads A from here on). The
   recovery clock starts.
4. Fresh stores for region B are rebuilt (``replay rebuild`` into a new target) from region B's Kafka alone.
5. An API process serves from region B (B's bootstrap, the new target's stores); a search answers with what A
   found. The recovery clock stops: the recovery time.
6. The rebuilt stores are compared with region A's by memory id (``replay verify``).
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

import httpx
import psycopg
from confluent_kafka import Consumer, KafkaException, TopicPartition

from adapters.api_key_pepper import api_key_pepper
from adapters.kafka import ensure_topics, make_admin
from adapters.kafka_auth import client_config, region_b_bootstrap
from api.gateway.key_store import create_key, ensure_table
from api.gateway.principal import Scope as KeyScope
from memory.settings import Settings, Topics
from memstream_cli.dr import region_b
from memstream_cli.processes import System, start_system
from projections.targets import LIVE, STORES, group_id, settings_for_target, with_search_path
from replay.rebuild import projected_topics, rebuild
from replay.replication_lag import LagReport, LagSampler, counting_consumer, record_counts
from replay.stores import drop
from replay.verify import StoreDiff, verify

T = TypeVar("T")
APP_ID = "dr-drill"
USERS = 3  # turns spread over a few users, so several partitions carry them
WARM_UP_TURNS = 1  # written before the measured turns, to see MirrorMaker 2 copy (``warm_up``)
# Facts whose words a search can find again; the drill numbers them so each turn is its own memory.
FACTS = (
    "I keep {n} beehives on the roof of the old mill in Tavira.",
    "My sister plays the cello in orchestra number {n} in Leipzig.",
    "I repaired {n} vintage typewriters for the museum this winter.",
    "Our team planted {n} cork oaks along the river in Alentejo.",
    "I have run the Lisbon half marathon {n} times.",
)


class DrillError(RuntimeError):
    pass


@dataclass
class Probe:
    user_id: str
    query: str
    found_in_a: list[str] = field(default_factory=list)
    found_in_b: list[str] = field(default_factory=list)


@dataclass
class DrillReport:
    turns: int
    region_a_bootstrap: str
    region_b_bootstrap: str
    target: str
    region_a_gone_at: str = ""
    replication: LagReport = field(default_factory=LagReport)
    # Region A gone -> region B answers the search: the recovery time, and where it went.
    recovery_seconds: float = 0.0
    stop_seconds: float = 0.0  # stopping region A's processes and MirrorMaker 2 (before the clock starts)
    phases: dict[str, float] = field(default_factory=dict)
    rebuilt_events: dict[str, int] = field(default_factory=dict)
    stores: list[StoreDiff] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)

    @property
    def stores_equal(self) -> bool:
        return bool(self.stores) and all(d.equal for d in self.stores)

    @property
    def search_matches(self) -> bool:
        return bool(self.probes) and all(p.found_in_a and set(p.found_in_a) <= set(p.found_in_b) for p in self.probes)

    @property
    def passed(self) -> bool:
        return self.stores_equal and self.search_matches

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "turns": self.turns,
            "warm_up_turns": WARM_UP_TURNS,
            "region_a": {"kafka_bootstrap": self.region_a_bootstrap},
            "region_b": {"kafka_bootstrap": self.region_b_bootstrap, "target": self.target},
            "region_a_gone_at": self.region_a_gone_at,
            "recovery_point": self.replication.as_dict(),
            "recovery_time_seconds": round(self.recovery_seconds, 3),
            "phases_seconds": {k: round(v, 3) for k, v in self.phases.items()},
            "region_a_stop_seconds": round(self.stop_seconds, 3),
            "rebuilt_events": self.rebuilt_events,
            "stores": {
                d.store: {
                    "equal": d.equal,
                    "region_a": d.left_count,
                    "region_b": d.right_count,
                    "only_in_a": d.only_left[:20],
                    "only_in_b": d.only_right[:20],
                    "different": d.different[:20],
                }
                for d in self.stores
            },
            "search": {
                "matches": self.search_matches,
                "probes": [
                    {"user_id": p.user_id, "query": p.query, "region_a": p.found_in_a, "region_b": p.found_in_b}
                    for p in self.probes
                ],
            },
        }

    def text(self) -> str:
        rp = self.replication
        lines = [
            f"disaster-recovery drill: {'PASSED' if self.passed else 'FAILED'} "
            f"({self.turns} turns after {WARM_UP_TURNS} warm-up)",
            f"  region A kafka {self.region_a_bootstrap} -> MirrorMaker 2 -> region B kafka {self.region_b_bootstrap}",
            f"  recovery point (replication lag, sampled every {rp.period_seconds:g}s, {rp.samples} samples): "
            f"at most {rp.max_records_behind} records / {rp.max_seconds_behind:.2f}s behind",
        ]
        for t in rp.topics:
            lines.append(
                f"    {t.topic}: {t.copy_records}/{t.source_records} records copied; "
                f"max {t.max_records_behind} records / {t.max_seconds_behind:.2f}s behind"
            )
        lines.append(f"  recovery time (region A gone -> region B answers): {self.recovery_seconds:.1f}s")
        lines.append("    " + ", ".join(f"{k} {v:.1f}s" for k, v in self.phases.items()))
        for d in self.stores:
            state = (
                "equal"
                if d.equal
                else f"DIFFER (only A {len(d.only_left)}, only B {len(d.only_right)}, "
                + (f"changed {len(d.different)})")
            )
            lines.append(f"  {d.store}: region A {d.left_count}, region B {d.right_count}: {state}")
        found = sum(len(p.found_in_b) for p in self.probes)
        verdict = "finds" if self.search_matches else "MISSES"
        lines.append(f"  search from region B: {verdict} A's memories ({found} hits)")
        return "\n".join(lines)


def drill_namespace(base: Settings, tag: str) -> Settings:
    """The drill's own topics and stores beside whatever else the stack holds (like a test's namespace)."""
    schema = f"dr_{tag}"
    with psycopg.connect(base.postgres_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return replace(
        base,
        topics=Topics(
            turns=f"dr.{tag}.turns",
            commands=f"dr.{tag}.commands",
            memories=f"dr.{tag}.memories",
            deadletter=f"dr.{tag}.deadletter",
        ),
        postgres_dsn=with_search_path(base.postgres_dsn, schema),
        milvus_collection=f"dr_{tag}",
        neo4j_label_prefix=f"Dr{tag}",
        redis_prefix=f"dr:{tag}:",
        faust_app_id=f"memstream-dr-{tag}",
        consumer_group_prefix=f"memstream-dr-{tag}",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Callable[[], T | None], timeout: float, what: str, period: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DrillError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(period)


def admin_key(settings: Settings) -> str:
    """An admin key of the drill's app in the key table these settings' API verifies against. Region B gets its
    own: API keys are PostgreSQL rows, not events (in production, region B's PostgreSQL replica has them)."""
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        ensure_table(conn)
        issued = create_key(
            conn, api_key_pepper(settings), APP_ID, scopes=(KeyScope.ADMIN,), name="dr drill", rate_limit=1_000_000
        )
    return issued.key


def _client(system: System, key: str) -> httpx.Client:
    return httpx.Client(base_url=system.base_url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def _search(client: httpx.Client, probe: Probe, token: str | None = None) -> list[str]:
    body: dict[str, Any] = {"query": probe.query, "user_id": probe.user_id, "app_id": APP_ID, "top_k": 5}
    if token:
        body["consistency_token"] = token
    response = client.post("/v1/memories/search", json=body)
    if response.status_code != 200:
        raise DrillError(f"search failed with {response.status_code}: {response.text[:500]}")
    return [hit["id"] for hit in response.json()["results"]]


def ingest(system: System, key: str, turns: int, tag: str) -> list[Probe]:
    """``turns`` memories through region A's API; returns one probe per user, found by A's search once every
    projection has applied that user's writes (the last write's consistency token covers the earlier ones:
    one user's events share a partition)."""
    last_token: dict[str, str] = {}
    probes: dict[str, Probe] = {}
    with _client(system, key) as client:
        for n in range(turns):
            user = f"dr-{tag}-user-{n % USERS}"
            text = FACTS[n % len(FACTS)].format(n=n + 1)
            response = client.post("/v1/memories", json={"user_id": user, "app_id": APP_ID, "text": text})
            if response.status_code != 202:
                raise DrillError(f"region A refused a write ({response.status_code}): {response.text[:500]}")
            last_token[user] = response.json()["consistency_token"]
            probes.setdefault(user, Probe(user, text))
        for user, probe in probes.items():
            probe.found_in_a = _search(client, probe, last_token[user])
            if not probe.found_in_a:
                raise DrillError(f"region A's search found nothing for {probe.query!r} after its writes applied")
    return list(probes.values())


def warm_up(system: System, key: str, tag: str) -> None:
    """One turn of a user of its own (``WARM_UP_TURNS``), through region A's API like the others."""
    body = {"user_id": f"dr-{tag}-warm-up", "app_id": APP_ID, "text": "I water the plants on Sundays."}
    with _client(system, key) as client:
        response = client.post("/v1/memories", json=body)
    if response.status_code != 202:
        raise DrillError(f"region A refused the warm-up write ({response.status_code}): {response.text[:500]}")


def copied(source: Settings, copy: Settings, topics: list[str]) -> bool:
    """The copy holds at least what the source holds, and the source holds something."""
    consumers = [counting_consumer(source, "source"), counting_consumer(copy, "copy")]
    try:
        have, got = (record_counts(c, topics) for c in consumers)
    except KafkaException:
        return False  # a topic being created answers "not leader" for a moment
    finally:
        for consumer in consumers:
            consumer.close()
    return all(0 < have[t] <= got[t] for t in topics)


def projections_caught_up(settings: Settings) -> bool:
    """Every live projector's consumer group has committed the end of the topics it projects."""
    for store in STORES:
        consumer = Consumer(client_config(settings, **{"group.id": group_id(settings, store, LIVE)}))
        try:
            metadata = consumer.list_topics(timeout=10)
            partitions = [
                TopicPartition(topic, p)
                for topic in projected_topics(settings, store)
                for p in metadata.topics[topic].partitions
            ]
            for committed in consumer.committed(partitions, timeout=10):
                high = consumer.get_watermark_offsets(committed, timeout=10)[1]
                if high > 0 and committed.offset < high:
                    return False
        finally:
            consumer.close()
    return True


def topics_exist(settings: Settings, topics: list[str]) -> bool:
    consumer = Consumer(client_config(settings, **{"group.id": "memstream.dr.topics"}))
    try:
        found = consumer.list_topics(timeout=10).topics
    finally:
        consumer.close()
    return all(t in found and found[t].error is None and found[t].partitions for t in topics)


def delete_groups(settings: Settings) -> None:
    """The drill's consumer groups (its pipeline's, its rebuild's, those MirrorMaker 2 synced)."""
    admin = make_admin(settings)
    listed = admin.list_consumer_groups(request_timeout=30).result()
    prefixes = (settings.consumer_group_prefix, settings.faust_app_id)
    mine = [g.group_id for g in listed.valid if g.group_id.startswith(prefixes)]
    if mine:
        for future in admin.delete_consumer_groups(mine, request_timeout=30).values():
            with contextlib.suppress(Exception):  # a group still winding down: harmless, it holds offsets only
                future.result(timeout=30)


def delete_topics(settings: Settings) -> None:
    t = settings.topics
    admin = make_admin(settings)  # held while the futures resolve: a collected client cancels them
    futures = admin.delete_topics([t.turns, t.commands, t.memories, t.deadletter], operation_timeout=30)
    for future in futures.values():
        with contextlib.suppress(Exception):  # a topic never created (no dead letters) is nothing to clean up
            future.result(timeout=30)


def run_drill(
    base: Settings,
    logs: Path,
    turns: int = 30,
    *,
    keep: bool = False,
    keep_region_b: bool = False,
    keep_groups: bool = False,
    out: TextIO = sys.stderr,
) -> DrillReport:
    tag = secrets.token_hex(4)
    region_a = drill_namespace(base, tag)
    region_b_kafka = replace(region_a, kafka_bootstrap=region_b_bootstrap(base))
    target = f"drb_{tag}"
    report = DrillReport(turns, region_a.kafka_bootstrap, region_b_kafka.kafka_bootstrap, target)
    topics = [region_a.topics.turns, region_a.topics.commands, region_a.topics.memories, region_a.topics.deadletter]

    def say(message: str) -> None:
        print(f"[dr drill] {message}", file=out, flush=True)

    was_up = region_b.running(region_a)
    # The topics exist before MirrorMaker 2 starts, so its first task assignment already copies them: a topic it
    # discovers later costs a task reconfiguration of several seconds, which would be measured as lag.
    ensure_topics(region_a)
    say(f"starting region B (kafka-b, mirror-maker) and region A's processes; namespace dr.{tag}")
    starting_b = region_b.start_async(region_a)
    system_a: System | None = None
    system_b: System | None = None
    sampler: LagSampler | None = None
    try:
        system_a = start_system(replace(region_a, api_port=free_port()), logs / "region-a")
        system_a.wait_ready()
        region_b.wait_started(starting_b)
        key_a = admin_key(region_a)
        # MirrorMaker 2's Connect worker rebalances a few times after it starts (its connectors create their
        # tasks one after the other), so "started" is not yet "copying": one warm-up turn crossing to region B
        # is. Without it the drill would measure MirrorMaker's start-up as replication lag.
        warm_up(system_a, key_a, tag)
        wait_for(lambda: copied(region_a, region_b_kafka, [region_a.topics.turns]), 120, "MirrorMaker 2 to copy")
        sampler = LagSampler(region_a, region_b_kafka, topics).start()

        say(f"MirrorMaker 2 is copying; ingesting {turns} turns into region A")
        report.probes = ingest(system_a, key_a, turns, tag)
        wait_for(lambda: projections_caught_up(region_a), 120, "region A's projectors to commit the end of the log")
        say("region A's projections have every turn; waiting for MirrorMaker 2 to copy the log to region B")
        sampler.wait_caught_up(timeout=120)
        report.replication = sampler.stop()
        sampler = None

        # Region A goes: its processes and the mirror stop, nothing reads A from here on. Stopping them is the
        # drill's doing, not part of a recovery, so the recovery clock starts once they are down.
        stopping = time.monotonic()
        system_a.stop()
        region_b.stop(region_a, region_b.MIRROR_MAKER)
        report.stop_seconds = time.monotonic() - stopping
        gone = time.monotonic()
        report.region_a_gone_at = datetime.now(UTC).isoformat()
        say("region A declared gone; rebuilding region B's stores from region B's log")

        started = time.monotonic()
        rebuilt = rebuild(region_b_kafka, STORES, target, out=out)
        report.rebuilt_events = rebuilt.events
        report.phases["rebuild from region B's log"] = time.monotonic() - started

        started = time.monotonic()
        serving = replace(settings_for_target(region_b_kafka, target), api_port=free_port())
        key_b = admin_key(serving)
        system_b = start_system(serving, logs / "region-b", components=("api",))
        system_b.wait_ready()
        report.phases["start region B's API"] = time.monotonic() - started

        started = time.monotonic()
        with _client(system_b, key_b) as client:
            for probe in report.probes:
                probe.found_in_b = _wait_found(client, probe)
        report.phases["region B's searches answered"] = time.monotonic() - started
        report.recovery_seconds = time.monotonic() - gone
        say(f"region B answers: recovery time {report.recovery_seconds:.1f}s; comparing stores by memory id")

        report.stores = verify(region_a, LIVE, target, STORES)
        return report
    finally:
        if starting_b.poll() is None:
            starting_b.wait(timeout=300)
        if sampler is not None:
            sampler.stop()
        for system in (system_a, system_b):
            if system is not None:
                system.stop()
        if not keep:
            _clean_up(region_a, region_b_kafka, target, groups=not keep_groups)
        # MirrorMaker 2 mirrored the drill's topics, gone now: it always stops. Region B's Kafka stops if the
        # drill started it.
        leaving = [region_b.MIRROR_MAKER]
        if not keep_region_b and not was_up.get(region_b.KAFKA_B):
            leaving.append(region_b.KAFKA_B)
        region_b.stop(region_a, *leaving)


def _wait_found(client: httpx.Client, probe: Probe) -> list[str]:
    """Region B's hits for a probe once they include every memory region A found for it."""

    def found_all() -> list[str] | None:
        hits = _search(client, probe)
        return hits if set(probe.found_in_a) <= set(hits) else None

    return wait_for(found_all, 60, f"region B's search for {probe.query!r} to find region A's memories")


def _clean_up(region_a: Settings, region_b_kafka: Settings, target: str, groups: bool) -> None:
    for settings in (region_a, settings_for_target(region_a, target)):
        for store in STORES:
            drop(settings, store, whole_schema=True)
    for cluster in (region_a, region_b_kafka):
        delete_topics(cluster)
        if groups:
            delete_groups(cluster)
