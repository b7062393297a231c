"""LoCoMo retrieval benchmark: recall@k of the evidence turns, through the real pipeline and the real API.

Every turn of the LoCoMo conversations (``../shared/bench/locomo10.json``) goes through the pipeline (Kafka →
Faust extraction and embedding → projections) as its conversation's user, dated at its session, with its
``dia_id`` in the metadata. Then every question of categories 1-4 is asked through ``POST /v1/memories/search``
(top 50) once per search recipe, and R@5/10/25/50 of its evidence turns is computed, with the original answer
key and with the audited one (``locomo10_audit_errors.json``). Several memories from one turn count as one turn.

    .venv/bin/python -m bench.locomo                                  # 10 conversations, every recipe
    .venv/bin/python -m bench.locomo --conversations 1 --questions 50 --legacy
    .venv/bin/python -m bench.locomo --verbatim --recipes hybrid,dense,sparse
    .venv/bin/python -m bench.locomo --skip-ingest --split  # also per half: tuning (0-4) and held-out (5-9)

The namespace (topics, PostgreSQL schema, Milvus collection, Neo4j labels, Redis prefix, consumer groups)
derives from ``--app-id``, so a second run with the same app id reuses what the first ingested.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters.kafka import ensure_topics
from adapters.settings_loader import load_settings
from adapters.token_key import token_key
from bench.common import (
    api_client,
    expected_memories,
    namespace_settings,
    percentiles,
    provenance,
    write_results,
)
from bench.locomo_data import (
    DRAGON_ANCHOR,
    OVERALL,
    AuditMatch,
    Conversation,
    EvidenceSet,
    QuestionKey,
    Table,
    audit_overrides,
    build_evidence,
    format_table,
    load_conversations,
    turn_event,
)
from bench.locomo_ingest import (
    Progress,
    api_only,
    ingest_progress,
    is_complete,
    produce,
    remembered_turns,
    running_api,
    wait_for_ingest,
    wait_for_projections,
)
from bench.locomo_search import TOP_K, Asked, RecipeRun, coverage, rounded, run_recipe, score, search_plan
from bench.locomo_split import HALVES, HELD_OUT, TUNING, WHOLE, restrict
from memory.contract.events import ConversationTurnReceived
from memory.contract.positions import LogPosition, encode_token
from memory.credentials import redacted
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import System

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10.json"
DEFAULT_AUDIT = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10_audit_errors.json"
RECIPES = ("hybrid", "dense", "sparse", "graph", "temporal", "no_graph", "no_temporal")
API_PORT = 18193  # beside bench.search (18191) and bench.ingest (18192)
COMPONENT = "bench.locomo"
PARTS = (WHOLE, TUNING, HELD_OUT)


# --- the run --------------------------------------------------------------------------------------------


def question_parser(description: str | None) -> argparse.ArgumentParser:
    """A parser with what ``load_questions`` reads: the data, the audit, and how much of them to use."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--audit", type=Path, default=DEFAULT_AUDIT)
    parser.add_argument("--conversations", type=int, help="only the first N conversations (default: all)")
    parser.add_argument("--questions", type=int, help="only the first N questions (per recipe)")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = question_parser(__doc__)
    # Not checked here: the API knows its recipes and answers 400 naming them.
    parser.add_argument("--recipes", help=f"comma-separated (default: {','.join(RECIPES)})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--infer", dest="infer", action="store_true", default=True, help="extract facts (default)")
    mode.add_argument("--verbatim", dest="infer", action="store_false", help="infer=false: one memory per turn")
    parser.add_argument("--app-id", help="default: locomo-bench-infer or locomo-bench-verbatim")
    parser.add_argument("--skip-ingest", action="store_true", help="search what an earlier run ingested")
    parser.add_argument(
        "--api", help="an already-running API (its pipeline's settings from MEMSTREAM_*, its key MEMSTREAM_API_KEY)"
    )
    parser.add_argument(
        "--port", type=int, default=API_PORT, help="port of the API the benchmark starts"
    )
    parser.add_argument(
        "--legacy", action="store_true", help="omit recipe, use_cache and reference_time (for an API without them)"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="also report each recipe on the tuning half (conversations 0-4) and the held-out half (5-9)",
    )
    args = parser.parse_args(argv)
    args.app_id = args.app_id or f"locomo-bench-{'infer' if args.infer else 'verbatim'}"
    if args.recipes is None:
        # Without the recipe field every "recipe" would be the default one under another name.
        args.recipes = ["hybrid"] if args.legacy else list(RECIPES)
    else:
        args.recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    if args.legacy and args.recipes != ["hybrid"]:
        parser.error("--legacy sends no recipe, so only --recipes hybrid measures what it says")
    return args


def external_key(args: argparse.Namespace) -> str | None:
    """The key of an already-running API (``--api``): its own installation's, from ``MEMSTREAM_API_KEY``."""
    if args.api is None:
        return None
    key = os.environ.get("MEMSTREAM_API_KEY")
    if not key:
        raise SystemExit("bench.locomo --api: export MEMSTREAM_API_KEY, a key of that API with the admin scope")
    return key


def expected_count(args: argparse.Namespace, settings: Settings, events: list[ConversationTurnReceived]) -> int | None:
    # A remote extractor decides for itself how many facts a turn holds; the rules are exact.
    return None if args.infer and settings.llm_base_url else expected_memories(events)


def ingest(
    args: argparse.Namespace,
    settings: Settings,
    system: System | None,
    events: list[ConversationTurnReceived],
    expected: int | None,
) -> dict[str, Any]:
    """Produce what PostgreSQL does not hold yet, then wait until every store has it."""
    users = sorted({e.scope.user_id for e in events})
    started = time.perf_counter()
    before = ingest_progress(settings.postgres_dsn, args.app_id, users)
    report: dict[str, Any] = {"expected_memories": expected, "turns_before": before.turns}
    positions: list[LogPosition] = []
    if before.turns < len(events):
        print(f"producing {len(events)} turns ...", flush=True)
        positions = produce(settings, events)
        report["produce_s"] = round(time.perf_counter() - started, 2)
    wait_for_ingest(settings.postgres_dsn, args.app_id, users, len(events), expected, system)
    report["postgres_s"] = round(time.perf_counter() - started, 2)
    if positions:
        base_url = system.base_url if system is not None else args.api
        with api_client(settings, base_url, args.app_id, timeout=120, key=external_key(args)) as client:
            wait_for_projections(client, encode_token(positions, token_key(settings)), users[0], args.app_id)
    report["all_stores_s"] = round(time.perf_counter() - started, 2)
    report["produced"] = bool(positions)
    return report


def evidence_sets(
    args: argparse.Namespace, conversations: list[Conversation]
) -> tuple[EvidenceSet, EvidenceSet, AuditMatch]:
    audit = audit_overrides(json.loads(args.audit.read_text()), conversations)
    return build_evidence(conversations), build_evidence(conversations, audit.overrides), audit


def print_evidence(original: EvidenceSet, audited: EvidenceSet, audit: AuditMatch) -> None:
    for name, evidence in (("original", original), ("audited", audited)):
        r = evidence.report
        print(
            f"evidence ({name}): {r.questions_kept}/{r.questions} questions kept, {r.questions_dropped} dropped;"
            f" ids dropped: {r.ids_malformed} malformed, {r.ids_missing_turn} citing no turn"
        )
    print(
        f"audit: {audit.by_id} matched by id, {audit.by_text} by text, {len(audit.unmatched)} unmatched"
        f"{' ' + ','.join(audit.unmatched) if audit.unmatched else ''}, {audit.outside_subset} outside this run"
    )


@dataclass(frozen=True)
class Questions:
    """The conversations of a run, both answer keys and the questions to ask (``bench.peers.mem0_locomo`` too)."""

    conversations: list[Conversation]
    original: EvidenceSet
    audited: EvidenceSet
    audit: AuditMatch
    plan: list[Asked]


def load_questions(args: argparse.Namespace) -> Questions:
    """``args``: ``data``, ``audit``, ``conversations`` and ``questions`` as parsed here; prints the evidence."""
    conversations = load_conversations(args.data)[: args.conversations]
    original, audited, audit = evidence_sets(args, conversations)
    print_evidence(original, audited, audit)
    plan = search_plan(conversations, (original, audited), args.questions)
    return Questions(conversations, original, audited, audit, plan)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = provenance()
    loaded = load_questions(args)
    conversations, plan, original, audited, audit = (
        loaded.conversations, loaded.plan, loaded.original, loaded.audited, loaded.audit
    )
    runs: dict[str, RecipeRun] = {}
    with ingested(args, conversations) as ready, ready.client() as client:
        for recipe in args.recipes:
            print(f"searching {len(plan)} questions with recipe {recipe} ...", flush=True)
            runs[recipe] = run_recipe(client, plan, args.app_id, recipe, args.legacy)
    users = [c.sample_id for c in conversations]
    remembered = remembered_turns(ready.settings.postgres_dsn, args.app_id, users)
    evidence = (original, audited, audit)
    body = results(args, conversations, plan, evidence, runs, remembered, ready.progress, ready.ingest_report)
    report(body, runs)
    print(f"wrote {write_results('locomo', body, started)}")


@dataclass
class Ingested:
    """The run's namespace, ingested, with an API serving it (started by ``ingested`` or given by ``--api``)."""

    args: argparse.Namespace
    settings: Settings
    base_url: str
    ingest_report: dict[str, Any]
    progress: Progress

    def client(self) -> httpx.Client:
        return api_client(self.settings, self.base_url, self.args.app_id, timeout=120, key=external_key(self.args))


@contextlib.contextmanager
def ingested(args: argparse.Namespace, conversations: list[Conversation]) -> Iterator[Ingested]:
    """Every turn of ``conversations`` ingested under ``args.app_id`` (unless ``--skip-ingest``: what an earlier
    run ingested), then only the API left running, until the block ends. ``args``: app_id, infer, api, port,
    skip_ingest, as ``parse_args`` gives them (bench.locomo_time has the same)."""
    events = [turn_event(t, args.app_id, COMPONENT, infer=args.infer) for c in conversations for t in c.turns]
    users = [c.sample_id for c in conversations]
    if args.api is None:
        settings = namespace_settings(load_settings(), args.app_id, api_port=args.port)
        ensure_topics(settings)
    else:
        settings = load_settings()
    print(f"turns topic {settings.topics.turns}, PostgreSQL {redacted(settings.postgres_dsn)}", flush=True)
    expected = expected_count(args, settings, events)
    # Without an expected count only the wait can tell whether an earlier ingest finished.
    done = expected is not None and is_complete(
        ingest_progress(settings.postgres_dsn, args.app_id, users), len(events), expected
    )
    # A finished ingest needs only the API; anything else needs the worker and the projectors too.
    components = ("api",) if args.skip_ingest or done else ("streams", "projections", "api")
    with running_api(settings, args.api, components) as system:
        base_url = system.base_url if system is not None else str(args.api)
        ingest_report: dict[str, Any] = {"skipped": True}
        if not args.skip_ingest:
            ingest_report = ingest(args, settings, system, events, expected)
            print(f"ingest: {ingest_report}", flush=True)
        api_only(system)
        progress = ingest_progress(settings.postgres_dsn, args.app_id, users)
        yield Ingested(args, settings, base_url, ingest_report, progress)


def results(
    args: argparse.Namespace,
    conversations: list[Conversation],
    plan: list[Asked],
    evidence: tuple[EvidenceSet, EvidenceSet, AuditMatch],
    runs: dict[str, RecipeRun],
    remembered: dict[str, set[str]],
    progress: Progress,
    ingest_report: dict[str, Any],
) -> dict[str, Any]:
    original, audited, audit = evidence
    sets = {"original": original, "audited": audited}
    categories = {a.question.key: a.question.category for a in plan}
    ceilings = {name: coverage(s, plan, remembered) for name, s in sets.items()}
    return {
        "benchmark": "locomo",
        "settings": {
            "mode": "infer" if args.infer else "verbatim",
            "app_id": args.app_id,
            "data": str(args.data),
            "audit": str(args.audit),
            "conversations": len(conversations),
            "questions_searched": len(plan),
            "top_k": TOP_K,
            "recipes": args.recipes,
            "legacy_request": args.legacy,
            "api": args.api or "started by the benchmark",
            "turns": progress.turns,
            "memories": progress.memories,
        },
        "ingest": ingest_report,
        "evidence": {name: asdict(s.report) for name, s in sets.items()}
        | {"audit_match": {"by_id": audit.by_id, "by_text": audit.by_text, "unmatched": list(audit.unmatched)}},
        # Recall over the top-k hits (memories; several may come from one turn), as the issue defines it.
        "recall": {
            recipe: {name: rounded(score(s, categories, run.rankings, turns=False)) for name, s in sets.items()}
            for recipe, run in runs.items()
        },
        # The same over the top-k distinct turns of the hits: the unit DRAGON ranked, for a like-for-like look.
        "recall_distinct_turns": {
            recipe: {name: rounded(score(s, categories, run.rankings, turns=True)) for name, s in sets.items()}
            for recipe, run in runs.items()
        },
        "ceiling": {name: {"recall": rounded(table), **counts} for name, (table, counts) in ceilings.items()},
        # --split: each recipe on the tuning half and the held-out half (bench.locomo_split), beside the whole.
        "split": split_recall(sets, categories, runs) if args.split else None,
        "latency_ms": {
            recipe: {
                "client": percentiles(run.client_ms),
                "server_took": percentiles(run.server_ms),
                "cache_hits": run.cache_hits,
            }
            for recipe, run in runs.items()
        },
        "anchor_dragon": DRAGON_ANCHOR,
    }


def split_recall(
    sets: dict[str, EvidenceSet], categories: dict[QuestionKey, int], runs: dict[str, RecipeRun]
) -> dict[str, Any]:
    return {
        "halves": {name: [f"conversation {i}" for i in indices] for name, indices in HALVES.items()},
        "recall": {
            recipe: {
                name: {half: rounded(score(restrict(s, half), categories, run.rankings, turns=False)) for half in PARTS}
                for name, s in sets.items()
            }
            for recipe, run in runs.items()
        },
    }


def report_split(split: dict[str, Any]) -> None:
    for name in ("original", "audited"):
        rows: dict[str, Table] = {
            f"{recipe} · {half}": tables[name][half] for recipe, tables in split["recall"].items() for half in PARTS
        }
        print()
        print(format_table(f"recall by half, {name} evidence (tuning = conversations 0-4, held-out = 5-9)", rows))


def report(body: dict[str, Any], runs: dict[str, RecipeRun]) -> None:
    for name in ("original", "audited"):
        rows: dict[str, Table] = {recipe: body["recall"][recipe][name] for recipe in runs}
        rows["DRAGON (paper)"] = DRAGON_ANCHOR
        print()
        print(format_table(f"recall, {name} evidence (top-{TOP_K} hits, categories 1-4)", rows))
        ceiling = body["ceiling"][name]
        print(
            f"ceiling (evidence turns with any memory): {100 * ceiling['recall'][OVERALL]['ceiling']:.1f} %;"
            f" {ceiling['without_memory']} of {ceiling['evidence_turns']} evidence turns have no memory"
        )
    if body["split"] is not None:
        report_split(body["split"])
    print()
    for recipe, latency in body["latency_ms"].items():
        client, server = latency["client"], latency["server_took"]
        hits = f"; {latency['cache_hits']} CACHE HITS, not search latency" if latency["cache_hits"] else ""
        print(
            f"latency {recipe}: p50 {client['p50_ms']} ms, p95 {client['p95_ms']} ms"
            f" (server p50 {server['p50_ms']} ms){hits}"
        )


if __name__ == "__main__":
    main()
