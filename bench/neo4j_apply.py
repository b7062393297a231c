"""The Neo4j projection's own cost, without Kafka: CPU seconds per event in the Neo4j server and in Python.

``bench.replay`` times rebuilds end to end, in wall-clock time, which on a shared machine moves with everyone
else's load. This applies ``bench.replay_log``'s synthetic memory events straight through
``Neo4jProjector.apply_batch`` (fresh label prefix, positions on one partition) and reads the CPU time the
Neo4j server's JVM spent (``/proc/<pid>/stat``; the pid from the stack's ``run/neo4j.pid``) and this process's
(plan, topics, the driver): events per CPU-second of each is what one free core would give, whatever the load.
Run it from the tree whose projector is to be measured (e.g. an older commit's checkout, with PYTHONPATH).

    .venv/bin/python -m bench.neo4j_apply --events 40000 --batch-size 2000
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from neo4j import GraphDatabase

from adapters.settings_loader import load_settings
from bench.replay_log import synthetic_events
from bench.replay_runs import _drop_graph
from memory.contract.events import ConversationTurnReceived
from memory.contract.positions import LogPosition
from projections.base import Positioned
from projections.neo4j.projector import Neo4jProjector
from tests.support import unique


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=40_000, help="synthetic log size (turns are left out)")
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()
    settings = load_settings()
    pid = int((Path(settings.data_dir) / "run" / "neo4j.pid").read_text())
    auth = (settings.neo4j_user, settings.neo4j_password)
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=auth, notifications_min_severity="OFF")
    prefix = unique("Apply")
    events = [e for e in synthetic_events(args.events, 100) if not isinstance(e, ConversationTurnReceived)]
    items = [Positioned(e, LogPosition("bench", 0, i)) for i, e in enumerate(events)]
    try:
        projector = Neo4jProjector(driver, settings.neo4j_database, ("bench",), label_prefix=prefix)
        server, python, started = cpu_seconds(pid), time.process_time(), time.perf_counter()
        for start in range(0, len(items), args.batch_size):
            projector.apply_batch(items[start : start + args.batch_size])
        wall = time.perf_counter() - started
        server, python = cpu_seconds(pid) - server, time.process_time() - python
        n, load = len(items), os.getloadavg()[0]
        print(
            f"{n} events, batch {args.batch_size}: {wall:.1f} s = {n / wall:,.0f} events/s (load {load:.1f})"
            f"\n  Neo4j server {server:.1f} CPU s = {1e6 * server / n:.0f} us/event = {n / server:,.0f} events/CPU-s"
            f"\n  Python       {python:.1f} CPU s = {1e6 * python / n:.0f} us/event = {n / python:,.0f} events/CPU-s"
        )
    finally:
        _drop_graph(driver, settings.neo4j_database, prefix)
        driver.close()


if __name__ == "__main__":
    main()
