"""``memstream status``: one look at a running system. The stores (each asked for a round trip, all at once), every
consumer group's lag per partition, the dead letters on their topic, which target each projection serves, and the
API's readiness. Exit code 1 when a store or the API is down, else 0 (lag and dead letters are reported, not
failures: a busy pipeline is not a broken one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from adapters.log_offsets import LogOffsets, Partition, group_lag
from memory.settings import Settings

TIMEOUT_SECONDS = 3.0


@dataclass
class Status:
    services: dict[str, str] = field(default_factory=dict)  # store -> "up" | "down: <reason>"
    lag: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> "topic/partition" -> events behind
    dead_letters: int | None = None
    targets: dict[str, str] = field(default_factory=dict)
    api: str = ""  # "ready" | "not ready: <stores>" | "down: <reason>"
    lag_error: str = ""  # why the lag could not be read, when Kafka answered but the offsets did not

    @property
    def healthy(self) -> bool:
        return all(s == "up" for s in self.services.values()) and self.api == "ready"

    def text(self) -> str:
        lines = ["services:"]
        lines += [f"  {name:<12} {state}" for name, state in self.services.items()]
        lines.append(f"api:          {self.api}")
        lines.append("consumer lag:" + (f" unknown ({self.lag_error})" if self.lag_error else ""))
        for group, partitions in self.lag.items():
            behind = sum(partitions.values())
            detail = ", ".join(f"{p}={n}" for p, n in partitions.items() if n) or "caught up"
            lines.append(f"  {group}: {behind} ({detail})")
        letters = "unknown (Kafka is down)" if self.dead_letters is None else str(self.dead_letters)
        lines.append(f"dead letters: {letters}")
        lines.append("projection targets: " + (", ".join(f"{s}={t}" for s, t in self.targets.items()) or "unknown"))
        return "\n".join(lines)


def _postgres(settings: Settings) -> None:
    import psycopg

    with psycopg.connect(settings.postgres_dsn, connect_timeout=int(TIMEOUT_SECONDS)) as conn:
        conn.execute("SELECT 1")


def _redis(settings: Settings) -> None:
    from redis import Redis

    Redis.from_url(settings.redis_url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS).ping()


def _neo4j(settings: Settings) -> None:
    from neo4j import GraphDatabase

    auth = (settings.neo4j_user, settings.neo4j_password)
    with GraphDatabase.driver(settings.neo4j_uri, auth=auth, connection_timeout=TIMEOUT_SECONDS) as driver:
        driver.verify_connectivity()


def _milvus(settings: Settings) -> None:
    from pymilvus import MilvusClient

    MilvusClient(uri=settings.milvus_uri, timeout=TIMEOUT_SECONDS).list_collections(timeout=TIMEOUT_SECONDS)


def _kafka(settings: Settings) -> None:
    from confluent_kafka.admin import AdminClient

    from adapters.kafka_auth import client_config

    AdminClient(client_config(settings)).list_topics(timeout=TIMEOUT_SECONDS)


PROBES: dict[str, Callable[[Settings], None]] = {
    "kafka": _kafka,
    "postgres": _postgres,
    "neo4j": _neo4j,
    "redis": _redis,
    "milvus": _milvus,
}


async def _probe(name: str, settings: Settings) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(PROBES[name], settings), TIMEOUT_SECONDS + 2)
    except Exception as exc:  # any failure is "down"; the reason is shown to the operator running the command
        return f"down: {type(exc).__name__}: {str(exc)[:200]}"
    return "up"


def api_readiness(settings: Settings) -> str:
    url = f"http://{settings.api_host}:{settings.api_port}/ready"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS + 2) as answer:
            body: dict[str, Any] = json.loads(answer.read())
    except urllib.error.HTTPError as exc:  # 503: the API runs, a store it needs does not answer it
        if exc.code != 503:
            return f"down: {url} answered {exc.code}"
        body = json.loads(exc.read())
        return "not ready: " + ", ".join(body.get("unavailable", []))
    except (OSError, ValueError) as exc:
        return f"down: {url}: {exc}"
    return "ready" if body.get("status") == "ready" else f"not ready: {body}"


async def _lags(settings: Settings, targets: dict[str, str]) -> tuple[dict[str, dict[str, int]], int]:
    from projections.targets import consumer_groups

    groups = {group: g.topics for group, g in consumer_groups(settings, targets).items()}
    offsets = LogOffsets(settings)

    def shown(lags: dict[Partition, int]) -> dict[str, int]:
        return {f"{topic}/{partition}": n for (topic, partition), n in sorted(lags.items())}

    found = await asyncio.gather(*(group_lag(offsets, group, topics) for group, topics in groups.items()))
    lag = {group: shown(lags) for group, lags in zip(groups, found, strict=True)}
    letters = await offsets.topic_ends([settings.topics.deadletter])
    return lag, sum(letters.values())  # nothing is ever deleted from the dead-letter topic but by retention


async def gather_status(settings: Settings) -> Status:
    status = Status()
    names = list(PROBES)
    states = await asyncio.gather(*(_probe(name, settings) for name in names))
    status.services = dict(zip(names, states, strict=True))
    status.api = await asyncio.to_thread(api_readiness, settings)
    if status.services["postgres"] == "up":
        from projections.targets import active_targets

        status.targets = await asyncio.to_thread(active_targets, settings.postgres_dsn)
    if status.services["kafka"] == "up":
        from projections.targets import LIVE, STORES

        targets = status.targets or dict.fromkeys(STORES, LIVE)
        try:
            status.lag, status.dead_letters = await _lags(settings, targets)
        except Exception as exc:  # e.g. the topics do not exist yet (nothing ever ran): say so, the rest still shows
            status.lag = {}
            status.lag_error = f"{type(exc).__name__}: {str(exc)[:200]}"
    return status


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    status = asyncio.run(gather_status(settings))
    if args.json:
        print(json.dumps({**asdict(status), "healthy": status.healthy}, indent=2))
    else:
        print(status.text())
        if not status.healthy:
            print("something is down", file=sys.stderr)
    return 0 if status.healthy else 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    status = sub.add_parser(
        "status",
        help="the stores, each consumer group's lag, dead letters, projection targets and the API's readiness; "
        "exit code 1 when something is down",
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=cmd_status)
