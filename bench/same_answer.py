"""Same question, same answer, on LoCoMo: the same conversations ingested under two app ids (so every memory,
turn and event id differs, as for two users), the same questions asked of both; how many rankings agree.

Ingest with ``bench.locomo`` first, once per app id; this only starts the API of each namespace in turn:

    .venv/bin/python -m bench.locomo --app-id locomo-same-a --recipes hybrid
    .venv/bin/python -m bench.locomo --app-id locomo-same-b --recipes hybrid
    .venv/bin/python -m bench.same_answer --app-ids locomo-same-a locomo-same-b
    (with ``--conversations N`` on all three for the first N conversations only)

A ranking is compared as the dia_ids of its hits (the turns the memories came from), best first.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from adapters.settings_loader import load_settings
from bench.common import api_client, namespace_settings
from bench.locomo import DEFAULT_DATA
from bench.locomo_data import QuestionKey, build_evidence, load_conversations
from bench.locomo_ingest import running_api
from bench.locomo_search import Asked, run_recipe, search_plan

API_PORT = 18194  # beside bench.locomo (18193)
DEPTHS = (5, 10, 50)


def rankings(app_id: str, plan: Sequence[Asked], recipe: str, port: int) -> dict[QuestionKey, list[str]]:
    settings = namespace_settings(load_settings(), app_id, api_port=port)
    with running_api(settings, None, ("api",)) as system:
        assert system is not None
        with api_client(settings, system.base_url, app_id, timeout=120) as client:
            return run_recipe(client, plan, app_id, recipe, legacy=False).rankings


def agreement(first: dict[QuestionKey, list[str]], second: dict[QuestionKey, list[str]], depth: int) -> tuple[int, int]:
    """(questions whose top-``depth`` lists are identical, questions whose top-``depth`` sets are)."""
    same_list = sum(first[key][:depth] == second[key][:depth] for key in first)
    same_set = sum(set(first[key][:depth]) == set(second[key][:depth]) for key in first)
    return same_list, same_set


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-ids", nargs=2, required=True, help="two app ids bench.locomo ingested")
    parser.add_argument("--recipe", default="hybrid")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, help="only the first N conversations (as ingested)")
    parser.add_argument("--questions", type=int, help="only the first N questions")
    parser.add_argument("--port", type=int, default=API_PORT, help="port of the API the benchmark starts")
    args = parser.parse_args(argv)
    conversations = load_conversations(args.data)[: args.conversations]
    # The questions bench.locomo asks (those with evidence); whether the hits are right does not matter here.
    plan = search_plan(conversations, (build_evidence(conversations),), args.questions)
    first, second = (rankings(app_id, plan, args.recipe, args.port) for app_id in args.app_ids)
    print(f"{len(plan)} questions, recipe {args.recipe}, {args.app_ids[0]} against {args.app_ids[1]}")
    for depth in DEPTHS:
        same_list, same_set = agreement(first, second, depth)
        print(f"top-{depth}: identical list {same_list}/{len(plan)}, identical set {same_set}/{len(plan)}")


if __name__ == "__main__":
    main()
