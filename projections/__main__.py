"""``python -m projections [name...]`` runs the projectors (default: all four), one thread each.

Each projector serves the target its store points at (``projections/targets.py``). When a rebuild switches
a store to a new target, the projector hands over: it stops, and a new one continues into the new target
from that target's checkpoint. confluent-kafka and the store drivers release the GIL while waiting on the
network, so threads suffice.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from types import FrameType

from adapters.heartbeat import beat, heartbeat_path
from adapters.kafka import ensure_topics
from adapters.logs import configure_logging
from adapters.metrics import serve
from adapters.settings_loader import load_settings
from memory.contract.codec import Codec
from memory.settings import Settings
from projections.runner import ProjectorRunner
from projections.targets import LIVE, active_targets, group_id, settings_for_target
from projections.wiring import PROJECTION_NAMES, metrics_port, projector_factory

log = logging.getLogger("projections")
RESTART_DELAY_SECONDS = 2.0


class Supervisor:
    """Keeps one projector running for ``store``, on whichever target the pointer names."""

    def __init__(self, store: str, settings: Settings, codec: Codec):
        self.store = store
        self.settings = settings
        self.codec = codec
        self.stopping = threading.Event()
        self.runner: ProjectorRunner | None = None
        self.started = time.time()

    @property
    def last_turn(self) -> float:
        """When this store's projector last went round its loop (a runner being built counts from now)."""
        return self.runner.last_turn if self.runner is not None else self.started

    def _target(self, fallback: str) -> str:
        try:
            return active_targets(self.settings.postgres_dsn)[self.store]
        except Exception as exc:  # the pointer lives in PostgreSQL: while it is down, keep serving what we serve
            log.warning("%s: cannot read the target pointer (%s); staying on %s", self.store, exc, fallback)
            return fallback

    def run(self) -> None:
        target = self._target(LIVE)
        while not self.stopping.is_set():
            current = target
            log.info("%s: projecting into target %s", self.store, current)
            # A runner must never take the process down, nor leave it without this store's projector: whether
            # building it (the store's schema) or running it fails, log it and start a fresh one.
            try:
                self.runner = ProjectorRunner(
                    projector_factory(self.store, settings_for_target(self.settings, current)),
                    self.settings,
                    self.codec,
                    group_id=group_id(self.settings, self.store, current),
                    handover=lambda current=current: self._target(current) != current,  # type: ignore[misc]
                )
                if self.stopping.is_set():
                    break
                self.runner.run()
            except Exception:
                log.exception("%s: projector stopped with an error; restarting it", self.store)
                self.stopping.wait(RESTART_DELAY_SECONDS)
                target = self._target(current)
                continue
            target = self._target(current)
            if self.runner.handed_over:
                log.info("%s: switched from target %s to %s", self.store, current, target)
            else:
                time.sleep(0.1)

    def stop(self) -> None:
        self.stopping.set()
        if self.runner is not None:
            self.runner.stop_event.set()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m projections")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(PROJECTION_NAMES)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.names) - set(PROJECTION_NAMES)
    if unknown:
        parser.error(f"unknown projections {sorted(unknown)}; choose from {PROJECTION_NAMES}")
    names = args.names or list(PROJECTION_NAMES)
    settings = load_settings()
    configure_logging("projections", settings.log_level)  # JSON lines (adapters/logs.py); drivers at WARNING
    ensure_topics(settings)
    serve(settings, metrics_port(settings, names), "projections")
    codec = Codec()
    supervisors = [Supervisor(name, settings, codec) for name in names]

    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        for supervisor in supervisors:
            supervisor.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threads = [threading.Thread(target=s.run, name=f"projector-{s.store}") for s in supervisors]
    for thread in threads:
        thread.start()
    log.info("projectors running: %s", ", ".join(names))
    # Liveness (adapters/heartbeat.py): the file's time is the *oldest* projector's last turn, so the probe's
    # maximum age bounds how long any one of them may be stuck.
    heartbeat = heartbeat_path(settings, "projections")
    while not stopping.is_set() and any(thread.is_alive() for thread in threads):
        beat(heartbeat, at=min(s.last_turn for s in supervisors))
        stopping.wait(settings.heartbeat_seconds)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
