"""``memstream keys create|list|revoke``: API keys, straight in the key table (no API needed).

``create`` prints the key once: only its hash is kept, so a lost key is revoked and replaced, never recovered.
A revocation is refused by every API process within a second (api.gateway.key_verifier).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta

import psycopg

from adapters.api_key_pepper import api_key_pepper
from api.gateway.key_format import PREFIX_PATTERN
from api.gateway.key_store import KeyRecord, create_key, ensure_table, list_keys, revoke_key, scopes_named
from api.gateway.principal import Scope
from memory.contract.validation import InvalidInput
from memory.settings import Settings

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)([smhdw])")


def duration(raw: str) -> timedelta:
    """``30d``, ``12h``, ``45m``, ``90s``, ``2w``."""
    found = _DURATION.fullmatch(raw.strip())
    if not found or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a duration like 30d, 12h, 45m, 90s or 2w")
    return timedelta(seconds=int(found.group(1)) * UNITS[found.group(2)])


def moment(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO 8601 time: {exc}") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{raw!r} needs a time zone (e.g. 'Z' or '+02:00')")
    return parsed


def as_json(record: KeyRecord) -> dict[str, object]:
    return {
        "prefix": record.prefix,
        "app_id": record.app_id,
        "user_id": record.user_id,
        "scopes": [s.value for s in record.scopes],
        "name": record.name,
        "description": record.description,
        "rate_limit_per_minute": record.rate_limit_per_minute,
        "created_at": record.created_at.isoformat(),
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "last_used_at": record.last_used_at.isoformat() if record.last_used_at else None,
    }


def _when(moment: datetime | None, never: str = "-") -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if moment else never


def _connect(settings: Settings) -> psycopg.Connection:
    conn = psycopg.connect(settings.postgres_dsn, autocommit=True)
    ensure_table(conn)
    return conn


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    expires_at = args.expires_at or (datetime.now(UTC) + args.expires_in if args.expires_in else None)
    try:
        scopes = scopes_named(args.scopes or [Scope.READ, Scope.WRITE])
        with _connect(settings) as conn:
            issued = create_key(
                conn,
                api_key_pepper(settings),
                args.app_id,
                user_id=args.user_id,
                scopes=scopes,
                name=args.name,
                description=args.description,
                expires_at=expires_at,
                rate_limit=args.rate_limit,
            )
    except InvalidInput as exc:
        print(f"memstream keys create: {exc}", file=sys.stderr)
        return 2
    record = issued.record
    if args.json:
        print(json.dumps({"key": issued.key, **as_json(record)}))
        return 0
    print(issued.key)
    print(
        f"prefix {record.prefix}: app {record.app_id}, user {record.user_id or 'any'},"
        f" scopes {' '.join(s.value for s in record.scopes)}, expires {_when(record.expires_at, 'never')}",
        file=sys.stderr,
    )
    print("This is the only time the key is shown: only its hash is kept.", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with _connect(settings) as conn:
        records = list_keys(conn, args.app_id)
    if args.json:
        for record in records:
            print(json.dumps(as_json(record)))
        return 0
    rows = [("PREFIX", "APP", "USER", "SCOPES", "CREATED", "EXPIRES", "REVOKED", "LAST USED", "NAME")]
    rows += [
        (
            r.prefix,
            r.app_id,
            r.user_id or "*",
            ",".join(s.value for s in r.scopes),
            _when(r.created_at),
            _when(r.expires_at, "never"),
            _when(r.revoked_at),
            _when(r.last_used_at),
            r.name,
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    if not re.fullmatch(PREFIX_PATTERN, args.prefix):
        print(f"memstream keys revoke: {args.prefix!r} is not a key prefix (8 letters or digits)", file=sys.stderr)
        return 2
    with _connect(settings) as conn:
        record = revoke_key(conn, args.prefix, args.app_id)
    if record is None:
        print(f"memstream keys revoke: no API key with prefix {args.prefix}", file=sys.stderr)
        return 1
    assert record.revoked_at is not None
    print(f"revoked {record.prefix} (app {record.app_id}) at {record.revoked_at.isoformat()}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)

    create = actions.add_parser("create", help="a new API key, printed once")
    create.add_argument("--app-id", required=True, help="the app the key belongs to")
    create.add_argument("--user-id", help="bind the key to this one user")
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        choices=[s.value for s in Scope],
        help="repeat for several (default: memories:read and memories:write; admin implies both)",
    )
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", type=duration, help="e.g. 30d, 12h, 45m (default: never)")
    expiry.add_argument("--expires-at", type=moment, help="ISO 8601 time with a zone, e.g. 2027-01-01T00:00Z")
    create.add_argument("--rate-limit", type=int, help="requests per minute allowed to this key")
    create.add_argument("--name", default="", help="what the key is for, shown in lists")
    create.add_argument("--description", default="")
    create.add_argument("--json", action="store_true", help="one JSON object, the key included")
    create.set_defaults(handler=cmd_create)

    listing = actions.add_parser("list", help="keys with their prefix, app, user and scopes (never the secret)")
    listing.add_argument("--app-id", help="only this app's keys")
    listing.add_argument("--json", action="store_true", help="one JSON object per key")
    listing.set_defaults(handler=cmd_list)

    revoke = actions.add_parser("revoke", help="revoke a key: every API process refuses it within a second")
    revoke.add_argument("prefix", help="the key's prefix, as listed")
    revoke.add_argument("--app-id", help="refuse unless the key belongs to this app")
    revoke.set_defaults(handler=cmd_revoke)
