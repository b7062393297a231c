"""``memstream replay ...`` and ``memstream audit``: rebuild, verify, drop, dead letters, lineage, erasure."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime

import psycopg

from adapters.dead_letters import OriginalGone
from memory.settings import Settings
from memstream_cli.erasure_cmd import cmd_erased
from projections.targets import LIVE, STORES, active_targets, settings_for_target
from replay.audit import NotFoundError, lineage
from replay.deadletters import distinct, read_dead_letters, redrive
from replay.rebuild import RebuildError, rebuild
from replay.stores import drop
from replay.verify import verify


def _stores(choice: str) -> tuple[str, ...]:
    return STORES if choice == "all" else (choice,)


def _time(raw: str) -> datetime:
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    target = args.target or "r" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    try:
        report = rebuild(
            settings,
            _stores(args.projection),
            target,
            switch=args.switch,
            drop_old=args.drop_old,
            follow=args.follow,
            from_offset=args.from_offset,
            from_time=_time(args.from_time) if args.from_time else None,
        )
    except RebuildError as exc:
        print(f"memstream replay rebuild: {exc}", file=sys.stderr)
        return 2
    for store in report.stores:
        print(f"{store}: {report.events[store]:,} events in {report.seconds:.1f}s ({report.rate(store):,.0f} events/s)")
    print(f"target: {report.target}" + (" (now serving reads)" if report.switched_from else ""))
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    diffs = verify(settings, args.against, args.target, _stores(args.projection))
    for diff in diffs:
        state = "equal" if diff.equal else "DIFFERENT"
        print(f"{diff.store}: {state} ({diff.left_count} in {args.against}, {diff.right_count} in {args.target})")
        for label, ids in (
            ("only in " + args.against, diff.only_left),
            ("only in " + args.target, diff.only_right),
            ("different", diff.different),
        ):
            for memory_id in ids[: args.show]:
                print(f"  {label}: {memory_id}")
            if len(ids) > args.show:
                print(f"  ... and {len(ids) - args.show} more {label}")
    return 0 if all(d.equal for d in diffs) else 1


def cmd_drop(args: argparse.Namespace, settings: Settings) -> int:
    serving = active_targets(settings.postgres_dsn)
    for store in _stores(args.projection):
        if serving[store] == args.target:
            print(f"memstream replay drop: {store} serves {args.target!r} now; switch first", file=sys.stderr)
            return 2
        drop(settings_for_target(settings, args.target), store, whole_schema=args.target != LIVE)
        print(f"dropped {store} target {args.target!r}")
    return 0


def cmd_deadletter(args: argparse.Namespace, settings: Settings) -> int:
    letters = [
        (pos, letter)
        for pos, letter in distinct(read_dead_letters(settings))
        if (not args.component or letter.component == args.component)
        and (not args.id or letter.dead_letter_id in args.id)
    ]
    if args.action == "list":
        for pos, letter in letters:
            print(
                json.dumps(
                    {
                        "dead_letter_id": letter.dead_letter_id,
                        "at": f"{pos.partition}@{pos.offset}",
                        "component": letter.component,
                        "reason": letter.reason,
                        "error_type": letter.error_type,
                        "origin": f"{letter.origin_topic}/{letter.origin_partition}@{letter.origin_offset}",
                        "original_bytes": letter.original_size,
                        "failed_at": letter.failed_at.isoformat(),
                    }
                )
            )
        print(f"{len(letters)} dead letters", file=sys.stderr)
        return 0
    if not (args.all or args.id):
        print("memstream replay deadletter redrive: give --id ... or --all", file=sys.stderr)
        return 2
    try:
        positions = redrive(settings, [letter for _, letter in letters])
    except OriginalGone as exc:
        print(f"memstream replay deadletter redrive: {exc}", file=sys.stderr)
        return 1
    print(f"re-drove {len(positions)} messages to their origin topics")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    if args.erased:
        return cmd_erased(args, settings)
    if not args.memory_id:
        print("memstream audit: give a MEMORY_ID, or --erased --user-id U", file=sys.stderr)
        return 2
    dsn = settings_for_target(settings, active_targets(settings.postgres_dsn)["postgres"]).postgres_dsn
    try:
        with psycopg.connect(dsn) as conn:
            found = lineage(conn, args.memory_id)
    except NotFoundError as exc:
        print(f"memstream audit: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(found), indent=2, default=str))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    replay = sub.add_parser("replay", help="rebuild, verify and drop projections; dead letters")
    actions = replay.add_subparsers(dest="replay_command", required=True)
    choices = [*STORES, "all"]

    rb = actions.add_parser("rebuild", help="project the log into a fresh target (never re-embeds)")
    rb.add_argument("--projection", choices=choices, default="all")
    rb.add_argument("--target", help="name of the new target (default r<timestamp>)")
    rb.add_argument("--from-offset", type=int, help="start every partition at this offset")
    rb.add_argument("--from-time", help="start at the first event at or after this ISO 8601 time")
    rb.add_argument("--switch", action="store_true", help="when caught up, serve reads from the new target")
    rb.add_argument("--drop-old", action="store_true", help="after switching, drop the previous target")
    rb.add_argument("--follow", action="store_true", help="after catching up, keep following the live log")
    rb.set_defaults(handler=cmd_rebuild)

    vf = actions.add_parser("verify", help="compare a target with another (default: live)")
    vf.add_argument("--target", required=True)
    vf.add_argument("--against", default=LIVE)
    vf.add_argument("--projection", choices=choices, default="all")
    vf.add_argument("--show", type=int, default=20, help="memory ids to print per difference")
    vf.set_defaults(handler=cmd_verify)

    dp = actions.add_parser("drop", help="delete a target that no longer serves reads")
    dp.add_argument("--target", required=True)
    dp.add_argument("--projection", choices=choices, default="all")
    dp.set_defaults(handler=cmd_drop)

    dl = actions.add_parser("deadletter", help="list or re-drive dead letters")
    dl.add_argument("action", choices=["list", "redrive"])
    dl.add_argument("--component", help="only those from this component, e.g. streams.extraction")
    dl.add_argument("--id", nargs="*", help="dead_letter_id values")
    dl.add_argument("--all", action="store_true", help="redrive: every listed dead letter")
    dl.set_defaults(handler=cmd_deadletter)

    audit = sub.add_parser(
        "audit", help="the chain of events behind one memory; with --erased, what the stores still hold of a user"
    )
    audit.add_argument("memory_id", nargs="?")
    audit.add_argument("--erased", action="store_true", help="count what every store still holds of the user")
    audit.add_argument("--user-id", help="--erased: the erased user")
    audit.add_argument("--app-id", default="default", help="--erased: the user's app")
    audit.add_argument(
        "--memory-id",
        dest="memory_ids",
        nargs="+",
        action="extend",
        default=[],
        metavar="ID",
        help="--erased: memory ids of the user known from elsewhere, checked too",
    )
    audit.set_defaults(handler=cmd_audit)
