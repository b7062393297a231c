"""``python -m projections [name...]`` runs the projectors (default: all four), one thread each.

confluent-kafka and the store drivers release the GIL while waiting on the network, so threads suffice.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from adapters.kafka import ensure_topics
from memory.codec import Codec
from memory.settings import Settings
from projections.runner import ProjectorRunner
from projections.wiring import PROJECTION_NAMES, projector_factory


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m projections")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(PROJECTION_NAMES)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.names) - set(PROJECTION_NAMES)
    if unknown:
        parser.error(f"unknown projections {sorted(unknown)}; choose from {PROJECTION_NAMES}")
    args.names = args.names or list(PROJECTION_NAMES)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    ensure_topics(settings)
    codec = Codec()
    runners = [ProjectorRunner(projector_factory(name, settings), settings, codec) for name in args.names]

    def stop(_signum: int, _frame: FrameType | None) -> None:
        for runner in runners:
            runner.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threads = [threading.Thread(target=r.run, name=f"projector-{r.projector.name}") for r in runners]
    for thread in threads:
        thread.start()
    logging.getLogger(__name__).info("projectors running: %s", ", ".join(args.names))
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
