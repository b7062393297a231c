#!/usr/bin/env python3
"""Local service stack for memstream without Docker: Kafka (KRaft), Neo4j, PostgreSQL, Redis and Milvus Lite.

Usage::

    python infra/local/stack.py {install,start,stop,restart,status} [kafka neo4j postgres redis milvus] [--timeout S]
    python infra/local/stack.py start kafka-b mirror-maker    # region B of the DR drill, only when named
    python infra/local/stack.py install haproxy               # a tool, not a service: memstream_cli/balancer.py runs it

Importable too: ``install(settings)``, ``start(settings)``, ``stop(settings)``, ``restart(settings)`` and
``status(settings)`` each take an optional ``services`` list (default: all five). Standard library only;
the Kafka, Neo4j and Milvus readiness checks use ``confluent_kafka`` / ``neo4j`` / ``pymilvus`` when
importable (the project venv) and fall back to a raw Kafka ApiVersions request / Bolt handshake / an open
port otherwise.

This file is the orchestrator and the command line: the order services start and stop in, one lock per data
folder, reuse of what already runs. Each service (how it is installed, configured, launched, probed and
stopped) is its own module in ``infra/local/services/``.

Everything lives under ``Settings.data_dir`` (``.data`` by default, ignored by git)::

    jars/kafka, jars/neo4j,     jars resolved by Maven from infra/local/maven/*-pom.xml (redone on pom change)
    jars/mirror-maker
    region-b/kafka/             region B's Kafka (kafka-b): its own server.properties, cluster-id, data/
    region-b/mirror-maker/      MirrorMaker 2's mm2.properties (0600: the pipeline's password), log4j2.properties
    kafka/                      server.properties (0600: the listeners' passwords), log4j2.properties, cluster-id,
                                data/ (KRaft log dirs)
    secrets/                    generated passwords, 0600: kafka-pipeline, kafka-broker, kafka-producer-<name>
    neo4j/                      embedded Neo4j home (infra/local/neo4j/MemstreamNeo4j.java)
    postgres/                   owned by the ``postgres`` OS user when run as root: data/ (PGDATA), socket/
    redis/                      redis.conf and the append-only file
    milvus/                     memstream.db, the Milvus Lite store
    secrets/                    generated passwords (0600, dir 0700): postgres, postgres-superuser, redis, neo4j
    run/<service>.pid           PIDs of the detached processes
    logs/<service>.log          service logs (kafka.out and neo4j/logs/debug.log hold the rest)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
# Run as a script, sys.path[0] is this folder, whose neo4j/ subfolder would shadow the neo4j driver package;
# the project root goes first instead, so ``infra.local.services`` and ``memory`` import the same way whether
# this file is run or imported.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    sys.path.pop(0)
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from adapters.settings_loader import load_settings  # noqa: E402
from adapters.store_credentials import with_generated_store_passwords  # noqa: E402
from infra.local.services.base import Service  # noqa: E402
from infra.local.services.common import ServiceStatus, StackError, apt_install, log  # noqa: E402
from infra.local.services.kafka import Kafka  # noqa: E402
from infra.local.services.kafka_region_b import RegionBKafka  # noqa: E402
from infra.local.services.milvus import MilvusLite  # noqa: E402
from infra.local.services.mirror_maker import MirrorMaker  # noqa: E402
from infra.local.services.neo4j import Neo4j  # noqa: E402
from infra.local.services.postgres import Postgres  # noqa: E402
from infra.local.services.redis import Redis  # noqa: E402
from memory.settings import Settings  # noqa: E402

__all__ = [
    "CLI_ORDER",
    "SERVICES",
    "ServiceStatus",
    "StackError",
    "install",
    "main",
    "restart",
    "start",
    "status",
    "stop",
]

# Start order: the slow JVMs launch first so their start-ups overlap with the rest (stop runs in reverse).
SERVICES: tuple[str, ...] = ("neo4j", "kafka", "postgres", "redis", "milvus")
# Region B of the disaster-recovery drill (docs/disaster-recovery.md): started only when named, after region A's
# Kafka (MirrorMaker 2 reads it), and stopped by a bare ``stop`` too.
REGION_B: tuple[str, ...] = ("kafka-b", "mirror-maker")
CLI_ORDER: tuple[str, ...] = ("kafka", "neo4j", "postgres", "redis", "milvus", *REGION_B)
# Programs the project's own code runs, not services of the stack: ``install`` gets their Debian package when the
# binary is missing and only when named (``stack.py install haproxy``); nothing here starts or stops them.
# HAProxy balances several API processes (memstream_cli/balancer.py, which starts and stops it by its pid).
TOOLS: dict[str, tuple[str, str]] = {"haproxy": ("haproxy", "haproxy")}  # name -> (binary, Debian package)


_CLASSES: dict[str, Callable[[Settings], Service]] = {
    "kafka": Kafka,
    "neo4j": Neo4j,
    "postgres": Postgres,
    "redis": Redis,
    "milvus": MilvusLite,
    "kafka-b": RegionBKafka,
    "mirror-maker": MirrorMaker,
}


def _services(
    settings: Settings | None, services: Iterable[str] | None, default: tuple[str, ...] = SERVICES
) -> list[Service]:
    settings = settings or load_settings()
    wanted = list(services) if services else list(default)
    unknown = [s for s in wanted if s not in _CLASSES]
    if unknown:
        raise StackError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(CLI_ORDER)}")
    return [_CLASSES[name](settings) for name in (*SERVICES, *REGION_B) if name in wanted]


# ----------------------------------------------------------------------------------------------- public API


@contextlib.contextmanager
def _locked(settings: Settings | None) -> Iterator[Settings]:
    """Serialises install/start/stop across processes (e.g. parallel test workers) per data dir, and gives
    the services their passwords: generated once under ``<data_dir>/secrets/`` unless the settings name
    their own (``adapters.store_credentials``)."""
    settings = settings or load_settings()
    run_dir = settings.data_dir.resolve() / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "stack.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield with_generated_store_passwords(settings)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _install(settings: Settings, services: Iterable[str] | None) -> None:
    wanted = list(services or ())
    tools = [name for name in wanted if name in TOOLS]
    apt_install(package for binary, package in (TOOLS[t] for t in tools) if _missing(binary))
    if tools and len(tools) == len(wanted):
        return  # only tools were named: no service to install
    svcs = _services(settings, [name for name in wanted if name not in TOOLS] or None)
    apt_install(pkg for svc in svcs for pkg in svc.apt_packages())
    for svc in svcs:
        svc.install()


def _start(settings: Settings, services: Iterable[str] | None, timeout: float | None) -> dict[str, float]:
    svcs = _services(settings, services)
    _install(settings, [s.name for s in svcs])
    pending: list[tuple[Service, float]] = []
    took: dict[str, float] = {}
    for svc in svcs:
        limit = timeout or svc.default_timeout
        pid = svc.running_pid()
        if pid is not None and svc.stale():
            log.info("%s: pid %d runs another configuration; restarting it", svc.name, pid)
            svc.stop(svc.stop_timeout)
            pid = None
        if pid is not None:
            svc.adopt()
        if pid is not None and svc.healthy():
            svc.ready_hook()
            log.info("%s: already running (pid %d) at %s", svc.name, pid, svc.endpoint())
            took[svc.name] = 0.0
            continue
        t0 = time.monotonic()
        if pid is None:
            svc.launch(limit)
        else:
            log.info("%s: pid %d is running but not ready yet; waiting", svc.name, pid)
        pending.append((svc, t0))
    while pending:  # probe round-robin so each service's time-to-ready is its own
        for svc, t0 in list(pending):
            if svc.poll_ready(t0, timeout or svc.default_timeout):
                took[svc.name] = time.monotonic() - t0
                log.info("%s: ready at %s in %.1fs", svc.name, svc.endpoint(), took[svc.name])
                pending.remove((svc, t0))
        if pending:
            time.sleep(0.2)
    return took


def _stop(settings: Settings, services: Iterable[str] | None, timeout: float | None) -> None:
    for svc in reversed(_services(settings, services, default=(*SERVICES, *REGION_B))):
        svc.stop(timeout or svc.stop_timeout)


def _missing(binary: str) -> bool:
    # Debian puts haproxy in /usr/sbin, not on a plain user's PATH.
    return shutil.which(binary) is None and not any(Path(d, binary).exists() for d in ("/usr/sbin", "/usr/bin"))


def install(settings: Settings | None = None, services: Iterable[str] | None = None) -> None:
    """Idempotent: apt packages only for missing binaries, jars only when missing or the pom changed."""
    with _locked(settings) as s:
        _install(s, services)


def start(
    settings: Settings | None = None, services: Iterable[str] | None = None, timeout: float | None = None
) -> dict[str, float]:
    """Starts what is not already running and healthy; returns seconds-to-ready per service (0.0 = was up).

    Installs first when needed. ``timeout`` (seconds, per service) overrides the defaults (Neo4j 180,
    Kafka 90, PostgreSQL 60, Milvus 60, Redis 20). Raises StackError with the log path and tail on failure.
    """
    with _locked(settings) as s:
        return _start(s, services, timeout)


def stop(settings: Settings | None = None, services: Iterable[str] | None = None, timeout: float | None = None) -> None:
    """Stops only processes recorded in our PID files (PostgreSQL via pg_ctl): SIGTERM, then SIGKILL."""
    with _locked(settings) as s:
        _stop(s, services, timeout)


def restart(
    settings: Settings | None = None, services: Iterable[str] | None = None, timeout: float | None = None
) -> dict[str, float]:
    with _locked(settings) as s:
        _stop(s, services, None)
        return _start(s, services, timeout)


def status(settings: Settings | None = None, services: Iterable[str] | None = None) -> dict[str, ServiceStatus]:
    return {svc.name: svc.status() for svc in _services(settings, services)}


# ----------------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="memstream local service stack (no Docker)")
    parser.add_argument("command", choices=["install", "start", "stop", "restart", "status"])
    parser.add_argument(
        "services",
        nargs="*",
        metavar="service",
        help=f"any of {', '.join(CLI_ORDER)} (default: all but {', '.join(REGION_B)}, which stop too); "
        f"install also takes the tools {', '.join(TOOLS)}",
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds per service (start/stop)")
    parser.add_argument("--json", action="store_true", help="status: print {service: up} as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    settings = load_settings()
    try:
        if args.command == "install":
            install(settings, args.services)
        elif args.command in ("start", "restart"):
            action = start if args.command == "start" else restart
            took = action(settings, args.services, args.timeout)
            for name, secs in took.items():
                print(f"{name:12} {'already running' if secs == 0.0 else f'ready in {secs:.1f}s'}")
        elif args.command == "stop":
            stop(settings, args.services, args.timeout)
        else:
            states = status(settings, args.services)
            if args.json:
                print(json.dumps({name: st.up for name, st in states.items()}))
                return 0
            for name in CLI_ORDER:
                if name in states:
                    st = states[name]
                    pid = f"pid {st.pid}" if st.pid else "-"
                    state = "up" if st.up else "down"
                    print(f"{name:12} {state:5} {pid:11} {st.endpoint}  {st.detail}".rstrip())
            return 0 if all(st.up for st in states.values()) else 1
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
