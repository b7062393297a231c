"""``memstream run``: start the local stack, the Faust worker, the projectors and the API; Ctrl-C stops them.

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
from pathlib import Path
from types import FrameType

from confluent_kafka import KafkaException

from adapters.kafka import ensure_topics
from adapters.kafka_auth import producer_bootstrap
from adapters.producer_door import DEFAULT_PRODUCER, ProducerDoorError, ensure_producer
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import StartupError, System, start_system

STACK = [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py")]


def stack_status() -> dict[str, bool]:
    out = subprocess.run([*STACK, "status", "--json"], capture_output=True, text=True, check=True).stdout
    status: dict[str, bool] = json.loads(out)
    return status


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is inside it (shorter to copy)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def run(settings: Settings) -> int:
    # Ctrl-C and a plain `kill` both stop cleanly (a background launch may inherit SIGINT as ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    before = stack_status()
    subprocess.run([*STACK, "install"], check=True)
    subprocess.run([*STACK, "start"], check=True)
    started_services = [name for name, up in before.items() if not up]
    logs = settings.data_dir / "logs"
    system: System | None = None
    try:
        # The producer door: the turns topic exists (producers cannot create it) and this machine's credential.
        ensure_topics(settings)
        password_file = _shown(ensure_producer(settings, DEFAULT_PRODUCER))
        system = start_system(settings, logs)
        base = system.base_url
        system.wait_ready()
        print(f"memstream is running.\n  API:          {base}\n  OpenAPI docs: {base}/schema/swagger")
        print(
            f"  producers:    {producer_bootstrap(settings)} ({settings.kafka_producer_security_protocol}, "
            f"{settings.kafka_producer_sasl_mechanism}), user {DEFAULT_PRODUCER}, password in {password_file}; "
            f"may write {settings.topics.turns} only"
        )
        print(
            f"  produce:      memstream produce --username {DEFAULT_PRODUCER} --password-file {password_file} "
            f"examples/conversation.jsonl\n  logs:         {logs}"
        )
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
