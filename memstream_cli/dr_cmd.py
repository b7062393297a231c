"""``memstream dr drill``: the disaster-recovery drill on the local stack (memstream_cli/dr/drill.py)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from memory.settings import Settings
from memstream_cli.dr.drill import DrillError, run_drill
from memstream_cli.dr.region_b import RegionBError
from memstream_cli.processes import StartupError


def cmd_drill(args: argparse.Namespace, settings: Settings) -> int:
    if args.turns < 1 or args.turns > 10_000:
        print("memstream dr drill: --turns must be between 1 and 10000", file=sys.stderr)
        return 2
    logs = Path(args.logs) if args.logs else Path(tempfile.mkdtemp(prefix="memstream-dr-"))
    try:
        report = run_drill(settings, logs, args.turns, keep=args.keep, keep_region_b=args.keep_region_b)
    except (DrillError, RegionBError, StartupError, TimeoutError) as exc:
        print(f"memstream dr drill: {exc}\n(process logs in {logs})", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    return 0 if report.passed else 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    dr = sub.add_parser("dr", help="disaster recovery: the region-failover drill (docs/disaster-recovery.md)")
    actions = dr.add_subparsers(dest="dr_command", required=True)
    drill = actions.add_parser(
        "drill",
        help="ingest into region A, mirror to region B with MirrorMaker 2, lose A, rebuild and serve from B",
    )
    drill.add_argument("--turns", type=int, default=30, help="turns to ingest into region A (default 30)")
    drill.add_argument("--json", action="store_true", help="print the report as JSON")
    drill.add_argument("--logs", help="folder for the drill's process logs (default: a new temporary folder)")
    drill.add_argument("--keep", action="store_true", help="keep the drill's topics and stores for inspection")
    drill.add_argument(
        "--keep-region-b", action="store_true", help="leave region B's Kafka running if the drill started it"
    )
    drill.set_defaults(handler=cmd_drill)
