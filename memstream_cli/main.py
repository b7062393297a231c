"""The ``memstream`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.settings_loader import load_settings
from memory.contract.codec import Codec
from memory.settings import Settings
from memstream_cli import keys_cmd, replay_cmd
from memstream_cli.produce import Defaults, ProduceError, read_turns


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    codec = Codec()
    defaults = Defaults(args.app_id, args.user_id, args.conversation_id, settings.max_content_chars)
    try:
        turns = list(read_turns(Path(args.file), defaults))
    except (ProduceError, OSError) as exc:
        print(f"memstream produce: {exc}", file=sys.stderr)
        return 2
    ensure_topics(settings)
    producer = SyncProducer(make_producer(settings))
    topic = settings.topics.turns
    positions = producer.produce_all([(topic, t.scope.key.encode(), codec.encode(t)) for t in turns])
    print(f"produced {len(positions)} turns to {topic}")
    return 0


def cmd_run(_: argparse.Namespace, settings: Settings) -> int:
    from memstream_cli.run import run

    return run(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memstream", description="long-term memory for AI agents")
    sub = parser.add_subparsers(dest="command", required=True)
    produce = sub.add_parser("produce", help="produce conversation turns from a JSON-lines file")
    produce.add_argument("file")
    produce.add_argument("--user-id", default=None, help="for lines without user_id")
    produce.add_argument("--app-id", default="default")
    produce.add_argument("--conversation-id", default="default")
    produce.set_defaults(handler=cmd_produce)
    run = sub.add_parser("run", help="start the stack, the pipeline and the API; Ctrl-C stops them")
    run.set_defaults(handler=cmd_run)
    replay_cmd.add_commands(sub)
    keys_cmd.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = args.handler
    result: int = handler(args, load_settings())
    return result


if __name__ == "__main__":
    sys.exit(main())
