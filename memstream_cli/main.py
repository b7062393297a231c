"""The ``memstream`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from confluent_kafka import KafkaException

from adapters.producer_door import ProducerDoorError
from adapters.settings_loader import load_settings
from memory.contract.codec import Codec
from memory.settings import Settings
from memstream_cli import dr_cmd, keys_cmd, mcp_cmd, producers_cmd, replay_cmd, status_cmd
from memstream_cli.produce import Defaults, ProduceError, read_turns
from memstream_cli.producers_cmd import MissingCredential, add_credential_flags, door_credential, produce_through_door


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    codec = Codec()
    defaults = Defaults(args.app_id, args.user_id, args.conversation_id, settings.max_content_chars)
    topic = settings.topics.turns
    try:
        credential = door_credential(args, settings)
        turns = list(read_turns(Path(args.file), defaults))
        positions = produce_through_door(
            settings, credential, [(topic, t.scope.key.encode(), codec.encode(t)) for t in turns]
        )
    except (MissingCredential, ProduceError, ProducerDoorError, KafkaException, OSError) as exc:
        print(f"memstream produce: {exc}", file=sys.stderr)
        return 2
    print(f"produced {len(positions)} turns to {topic} as {credential.username}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from memstream_cli.run import run, scaled

    return run(scaled(settings, args.workers, args.projectors, args.api_processes, args.partitions))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memstream", description="long-term memory for AI agents")
    sub = parser.add_subparsers(dest="command", required=True)
    produce = sub.add_parser(
        "produce", help="produce conversation turns from a JSON-lines file through the producer door"
    )
    produce.add_argument("file")
    produce.add_argument("--user-id", default=None, help="for lines without user_id")
    produce.add_argument("--app-id", default="default")
    produce.add_argument("--conversation-id", default="default")
    add_credential_flags(produce)
    produce.set_defaults(handler=cmd_produce)
    run = sub.add_parser("run", help="start the stack, the pipeline and the API; Ctrl-C stops them")
    # Default: the settings' (MEMSTREAM_STREAM_WORKERS, _PROJECTOR_PROCESSES, _API_PROCESSES, _KAFKA_PARTITIONS).
    scale = run.add_argument_group("scale (each flag overrides its setting)")
    scale.add_argument("--workers", type=int, help="stream worker processes (MEMSTREAM_STREAM_WORKERS, default 1)")
    scale.add_argument(
        "--projectors", type=int, help="projector processes, each running all four (MEMSTREAM_PROJECTOR_PROCESSES)"
    )
    scale.add_argument(
        "--api-processes",
        type=int,
        help="API processes; 2+ run behind HAProxy on the API port (MEMSTREAM_API_PROCESSES)",
    )
    scale.add_argument(
        "--partitions",
        type=int,
        help="partitions of every topic; existing topics grow, never shrink (MEMSTREAM_KAFKA_PARTITIONS)",
    )
    run.set_defaults(handler=cmd_run)
    replay_cmd.add_commands(sub)
    keys_cmd.add_commands(sub)
    producers_cmd.add_commands(sub)
    mcp_cmd.add_commands(sub)
    dr_cmd.add_commands(sub)
    status_cmd.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = args.handler
    result: int = handler(args, load_settings())
    return result


if __name__ == "__main__":
    sys.exit(main())
