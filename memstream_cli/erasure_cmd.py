"""``memstream audit --erased --user-id U``: prove that no store holds anything of an erased user.

Every target a store may still hold data in is checked: the live one (the API's search cache is keyed by
the live prefix whatever the target), each store's serving target, and the target it served before a
switch (a rebuild switched without ``--drop-old`` leaves it behind, with whatever it held then).
Exit status: 0 when every count is zero, 1 when anything is left.
"""

from __future__ import annotations

import argparse
import json
import sys

import psycopg

from memory.settings import Settings
from projections.targets import LIVE, ensure_pointer_table, settings_for_target
from replay.erasure import holdings, left


def targets_to_check(settings: Settings) -> list[str]:
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        ensure_pointer_table(conn)
        rows = conn.execute("SELECT target, previous FROM memstream_targets").fetchall()
    named = {name for row in rows for name in row if name}
    return [LIVE, *sorted(named - {LIVE})]


def cmd_erased(args: argparse.Namespace, settings: Settings) -> int:
    if not args.user_id:
        print("memstream audit --erased: give --user-id", file=sys.stderr)
        return 2
    report = {
        target: holdings(settings_for_target(settings, target), args.app_id, args.user_id, args.memory_ids)
        for target in targets_to_check(settings)
    }
    print(json.dumps(report, indent=2, sort_keys=True))
    remaining = sum(left(counts) for counts in report.values())
    if remaining:
        print(f"memstream audit: {remaining} item(s) of {args.app_id}/{args.user_id} still held", file=sys.stderr)
        return 1
    print(f"memstream audit: nothing of {args.app_id}/{args.user_id} is held", file=sys.stderr)
    return 0
