"""``memstream audit --erased --user-id U``: prove that no store holds anything of an erased user.

Every target a store may still hold data in is checked (``replay.erasure.targets_to_check``): the live one,
each store's serving target, and the target it served before a switch. ``GET /v1/erasures/{id}`` asks the same.
Exit status: 0 when every count is zero, 1 when anything is left.
"""

from __future__ import annotations

import argparse
import json
import sys

from memory.settings import Settings
from replay.erasure import holdings_by_target, left


def cmd_erased(args: argparse.Namespace, settings: Settings) -> int:
    if not args.user_id:
        print("memstream audit --erased: give --user-id", file=sys.stderr)
        return 2
    report = holdings_by_target(settings, args.app_id, args.user_id, args.memory_ids)
    print(json.dumps(report, indent=2, sort_keys=True))
    remaining = sum(left(counts) for counts in report.values())
    if remaining:
        print(f"memstream audit: {remaining} item(s) of {args.app_id}/{args.user_id} still held", file=sys.stderr)
        return 1
    print(f"memstream audit: nothing of {args.app_id}/{args.user_id} is held", file=sys.stderr)
    return 0
