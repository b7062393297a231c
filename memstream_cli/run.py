"""``memstream run``: start the local stack, the Faust workers, the projectors and the API; Ctrl-C stops them.

How many of each (``--workers``, ``--projectors``, ``--api-processes``) and the topics' partition count
(``--partitions``) come from the flags or the settings; two or more API processes run behind a local HAProxy on
the API port (memstream_cli/processes.py, memstream_cli/balancer.py). Topics with fewer partitions than asked grow;
none ever shrinks (adapters/partitions.py), and the output says which grew.

On every start it makes sure this machine's producer credential exists (``adapters.producer_door``: a SCRAM
user that may write the turns topic only, its password kept under ``<data_dir>/secrets/``) and prints how to
produce with it.

Services of the stack that were already running are reused and left running; those this command started
are stopped on exit, as are the worker, projector and API processes it spawned (by their own PIDs).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from confluent_kafka import KafkaException

from adapters.kafka import ensure_topics
from adapters.kafka_auth import producer_bootstrap
from adapters.partitions import ensure_partitions
from adapters.producer_door import DEFAULT_PRODUCER, ProducerDoorError, ensure_producer
from adapters.settings_loader import with_credentials
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.admin_key import AdminKey, ensure_admin_key
from memstream_cli.processes import StartupError, System, start_system

STACK = [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py")]


def stack_status() -> dict[str, bool]:
    out = subprocess.run([*STACK, "status", "--json"], capture_output=True, text=True, check=True).stdout
    status: dict[str, bool] = json.loads(out)
    return status


def scaled(
    settings: Settings,
    workers: int | None = None,
    projectors: int | None = None,
    api_processes: int | None = None,
    partitions: int | None = None,
) -> Settings:
    """The settings with the run command's scale flags applied (None: the setting stays)."""
    flags = {
        "stream_workers": workers,
        "projector_processes": projectors,
        "api_processes": api_processes,
        "kafka_partitions": partitions,
    }
    changes: dict[str, Any] = {name: value for name, value in flags.items() if value is not None}
    for name, value in changes.items():
        if value < 1:
            raise SystemExit(f"memstream run: {name.replace('_', ' ')} must be at least 1, not {value}")
    return replace(settings, **changes)


def processes_line(system: System) -> str:
    """Each process started here, by instance name and pid."""
    return ", ".join(f"{name} (pid {proc.pid})" for name, proc in system.procs.items())


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def shown(path: Path) -> str:
    """The path as the user would type it from here (relative to the working directory when inside it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def credential_lines(admin: AdminKey | None, base: str) -> list[str]:
    if admin is None:
        return ["  auth:         OFF (MEMSTREAM_AUTH_ENABLED=false): no credential asked, loopback only"]
    if admin.key is None:
        return [f"  API key:      {admin.problem}"]
    path = shown(admin.path)
    return [
        f"  API key:      {admin.key}  (admin of app 'default', kept in {path})",
        f"  try it:       curl -H \"Authorization: Bearer $(cat {path})\" '{base}/v1/memories?user_id=alice'",
    ]


def metrics_line(system: System) -> str:
    """Where each process started here serves its Prometheus metrics (adapters/metrics.py), labelled by role when
    it is the only one of its component, else by instance name (each instance has its own port)."""
    from projections.wiring import PROJECTION_NAMES, metrics_port  # the store drivers: only once running

    if not system.settings.metrics_enabled:
        return "off (MEMSTREAM_METRICS_ENABLED=false)"
    served = []
    for component, role in (("api", "API"), ("streams", "worker"), ("projections", "projectors")):
        names = system.instances(component)
        for name in names:
            own = system.settings_of(name)
            label = role if len(names) == 1 else name
            if component == "api":
                served.append(f"{label} {system.api_url(name) if system.balanced_api else system.base_url}/metrics")
                continue
            port = own.streams_metrics_port if component == "streams" else metrics_port(own, PROJECTION_NAMES)
            served.append(f"{label} http://{own.metrics_host}:{port}/metrics" if port > 0 else f"{label} none")
    return ", ".join(served)


def run(settings: Settings) -> int:
    # Ctrl-C and a plain `kill` both stop cleanly (a background launch may inherit SIGINT as ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    before = stack_status()
    subprocess.run([*STACK, "install"], check=True)
    subprocess.run([*STACK, "start"], check=True)
    started_services = [name for name, up in before.items() if not up]
    # On a first start the stack has just generated the stores' and Kafka's passwords: read them now.
    settings = with_credentials(settings)
    admin = ensure_admin_key(settings) if settings.auth_enabled else None
    logs = settings.data_dir / "logs"
    system: System | None = None
    try:
        # The producer door: the turns topic exists (producers cannot create it) and this machine's credential.
        ensure_topics(settings)
        partitions = ensure_partitions(settings)
        for line in partitions.lines(settings.kafka_partitions):
            print(f"memstream run: {line}", flush=True)
        # Faust creates its tables' changelogs with this count: they must match the topics' actual count.
        settings = replace(settings, kafka_partitions=partitions.count)
        password_file = shown(ensure_producer(settings, DEFAULT_PRODUCER))
        system = start_system(settings, logs)
        base = system.base_url
        system.wait_ready()
        print(f"memstream is running.\n  API:          {base}\n  OpenAPI docs: {base}/schema/swagger")
        balancer = system.balancer
        if balancer is not None:
            apis = ", ".join(system.api_url(n) for n in system.instances("api"))
            print(f"  balancer:     HAProxy (pid {balancer.pid}) on {base}, round robin over {apis}; {balancer.config}")
        print(f"  processes:    {processes_line(system)}; {settings.kafka_partitions} partitions per topic")
        print("\n".join(credential_lines(admin, base)))
        print(
            f"  producers:    {producer_bootstrap(settings)} ({settings.kafka_producer_security_protocol}, "
            f"{settings.kafka_producer_sasl_mechanism}), user {DEFAULT_PRODUCER}, password in {password_file}; "
            f"may write {settings.topics.turns} only"
        )
        print(
            f"  produce:      memstream produce --username {DEFAULT_PRODUCER} --password-file {password_file} "
            f"examples/conversation.jsonl\n  logs:         {logs}"
        )
        print(f"  metrics:      {metrics_line(system)}")
        print("Ctrl-C stops everything this command started.", flush=True)
        while True:
            system.check_alive()
            time.sleep(1)
    except (StartupError, ProducerDoorError, KafkaException) as exc:
        print(f"memstream run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if system is not None:
            system.stop()
        if started_services:
            subprocess.run([*STACK, "stop", *started_services], check=False)
