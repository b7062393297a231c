"""The producer door from the command line: ``memstream produce``'s credential, ``memstream producers ...``.

``memstream produce`` writes through the producer listener as an external producer would, with a producer
credential: ``--username`` and ``--password-file``, or ``MEMSTREAM_PRODUCER_USERNAME`` and
``MEMSTREAM_PRODUCER_PASSWORD`` (the flags win). Without one it refuses, saying where to get one.
``memstream producers create|list|revoke`` manage credentials as the pipeline's principal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.kafka import SyncProducer
from adapters.kafka_auth import producer_bootstrap
from adapters.producer_door import (
    DEFAULT_PRODUCER,
    ProducerDoorError,
    ensure_producer,
    list_producers,
    make_door_producer,
    producer_password_file,
    revoke,
)
from memory.contract.positions import LogPosition
from memory.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


class MissingCredential(ValueError):
    pass


@dataclass(frozen=True)
class DoorCredential:
    username: str
    password: str


def add_credential_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default=None, help="producer credential (or MEMSTREAM_PRODUCER_USERNAME)")
    parser.add_argument(
        "--password-file", default=None, help="file holding its password (or MEMSTREAM_PRODUCER_PASSWORD)"
    )


def door_credential(args: argparse.Namespace, settings: Settings) -> DoorCredential:
    username = args.username or settings.producer_username
    password = settings.producer_password
    if args.password_file:
        try:
            password = Path(args.password_file).read_text().strip()
        except OSError as exc:
            raise MissingCredential(f"cannot read the password file: {exc}") from None
    if username and password:
        return DoorCredential(username, password)
    missing = "a username" if not username else "a password"
    local = producer_password_file(settings, DEFAULT_PRODUCER)
    hint = (
        f" (`memstream run` keeps one: --username {DEFAULT_PRODUCER} --password-file {local})" if local.exists() else ""
    )
    raise MissingCredential(
        f"producers write through the producer listener with a credential, and {missing} is missing: pass "
        f"--username and --password-file, or set MEMSTREAM_PRODUCER_USERNAME and MEMSTREAM_PRODUCER_PASSWORD{hint}"
    )


def produce_through_door(
    settings: Settings, credential: DoorCredential, messages: list[tuple[str, bytes | None, bytes]]
) -> list[LogPosition]:
    """Write ``messages`` as the producer ``credential`` names; ProducerDoorError says why when refused."""
    door = make_door_producer(settings, credential.username, credential.password, **{"message.timeout.ms": 30_000})
    for topic in sorted({topic for topic, _, _ in messages}):
        door.check(topic)
    return SyncProducer(door.producer).produce_all(messages)


# ---------------------------------------------------------------------------------------- memstream producers


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    path = ensure_producer(settings, args.name)
    print(
        f"producer {args.name} may write {settings.topics.turns} and nothing else\n"
        f"  bootstrap: {producer_bootstrap(settings)} ({settings.kafka_producer_security_protocol}, "
        f"{settings.kafka_producer_sasl_mechanism})\n  username:  {args.name}\n  password:  in {path}"
    )
    return 0


def cmd_list(_: argparse.Namespace, settings: Settings) -> int:
    producers = list_producers(settings)
    if not producers:
        print("no producer credentials")
    for producer in producers:
        grants = "; ".join(producer.grants) or "no ACLs"
        print(f"{producer.username}  {','.join(producer.mechanisms)}  {grants}")
    return 0


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    existed = revoke(settings, args.name)
    producer_password_file(settings, args.name).unlink(missing_ok=True)
    print(f"producer {args.name} revoked" if existed else f"no producer {args.name}")
    return 0 if existed else 1


def with_door_errors(handler: Handler) -> Handler:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return handler(args, settings)
        except ProducerDoorError as exc:
            print(f"memstream producers: {exc}", file=sys.stderr)
            return 2

    return run


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    producers = sub.add_parser("producers", help="credentials of external producers (the producer door)")
    commands = producers.add_subparsers(dest="producers_command", required=True)
    create = commands.add_parser("create", help="a producer that may write the turns topic only; idempotent")
    create.add_argument("name")
    create.set_defaults(handler=with_door_errors(cmd_create))
    listing = commands.add_parser("list", help="every producer credential and what it may do")
    listing.set_defaults(handler=with_door_errors(cmd_list))
    revoking = commands.add_parser("revoke", help="delete a producer's credential and ACLs")
    revoking.add_argument("name")
    revoking.set_defaults(handler=with_door_errors(cmd_revoke))
