"""LoCoMo retrieval benchmark: recall@k of the evidence turns, through the real pipeline and the real API.

Every turn of the LoCoMo conversations (``../shared/bench/locomo10.json``) goes through the pipeline (Kafka →
Faust extraction and embedding → projections) as its conversation's user, dated at its session, with its
``dia_id`` in the metadata. Then every question of categories 1-4 is asked through ``POST /v1/memories/search``
(top 50) once per search recipe, and R@5/10/25/50 of its evidence turns is computed, with the original answer
key and with the audited one (``locomo10_audit_errors.json``). Several memories from one turn count as one turn.

    .venv/bin/python -m bench.locomo                                  # 10 conversations, every recipe
    .venv/bin/python -m bench.locomo --conversations 1 --questions 50 --legacy
    .venv/bin/python -m bench.locomo --verbatim --recipes hybrid,dense,sparse

The namespace (topics, PostgreSQL schema, Milvus collection, Neo4j labels, Redis prefix, consumer groups)
derives from ``--app-id``, so a second run with the same app id reuses what the first ingested.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx
import psycopg

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.token_key import token_key
from bench.common import (
    REINFORCED_REPEAT,
    expected_memories,
    namespace_settings,
    percentiles,
    provenance,
    write_results,
)
from bench.locomo_data import (
    DRAGON_ANCHOR,
    KS,
    OVERALL,
    AuditMatch,
    Conversation,
    EvidenceSet,
    Question,
    QuestionKey,
    Table,
    audit_overrides,
    average_by_category,
    build_evidence,
    distinct,
    format_table,
    load_conversations,
    recall_scores,
    turn_event,
)
from memory.contract.codec import Codec
from memory.contract.events import ConversationTurnReceived
from memory.contract.positions import LogPosition, encode_token
from memory.lifecycle.machine import MemoryState
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import System, start_system

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10.json"
DEFAULT_AUDIT = PROJECT_ROOT.parent / "shared" / "bench" / "locomo10_audit_errors.json"
RECIPES = ("hybrid", "dense", "sparse", "graph", "temporal", "no_graph", "no_temporal")
TOP_K = max(KS)  # one request per question; every smaller k is a prefix of its hits
API_PORT = 18193  # beside bench.search (18191) and bench.ingest (18192)
WARMUP_QUERIES = 10  # the first searches load the query embedder and warm the pools: not timed
INGEST_TIMEOUT_S = 3600.0
STABLE_S = 20.0  # only when the extractor is remote and the memory count is unknowable up front
# Still on their way to being searchable; archived or forgotten ones are done, just not active.
PENDING_STATES = [MemoryState.EXTRACTED.value, MemoryState.STORED.value]
COMPONENT = "bench.locomo"


# --- ingest ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    turns: int
    memories: int
    pending: int


def ingest_progress(dsn: str, app_id: str, users: list[str]) -> Progress:
    try:
        with psycopg.connect(dsn) as conn:
            turns = conn.execute(
                "SELECT count(*) FROM conversation_turns WHERE app_id = %s AND user_id = ANY(%s)", (app_id, users)
            ).fetchone()
            memories = conn.execute(
                # A repeat that reinforced another memory stays "stored" for good: it is done, not pending.
                f"SELECT count(*), count(*) FILTER (WHERE state = ANY(%s) AND NOT {REINFORCED_REPEAT})"
                " FROM memories WHERE app_id = %s AND user_id = ANY(%s)",
                (PENDING_STATES, app_id, users),
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return Progress(0, 0, 0)  # the PostgreSQL projector has not created its tables yet
    assert turns is not None and memories is not None
    return Progress(int(turns[0]), int(memories[0]), int(memories[1]))


def is_complete(progress: Progress, turns: int, memories: int | None) -> bool:
    if progress.turns < turns or progress.pending:
        return False
    return memories is None or progress.memories >= memories


def produce(settings: Settings, events: list[ConversationTurnReceived]) -> list[LogPosition]:
    codec = Codec()
    producer = SyncProducer(make_producer(settings))
    messages = [(settings.topics.turns, e.scope.key.encode(), codec.encode(e)) for e in events]
    return producer.produce_all(messages, timeout=120)


def wait_for_ingest(
    dsn: str, app_id: str, users: list[str], turns: int, memories: int | None, system: System | None
) -> Progress:
    """Until PostgreSQL holds every turn and every expected memory, none of them still pending. With no
    expected count (a remote extractor decides), until the memory count has not moved for ``STABLE_S``."""
    started = last_report = time.monotonic()
    stable_since, last_count = started, -1
    while True:
        if system is not None:
            system.check_alive()  # a crashed worker would otherwise look like a slow one
        progress = ingest_progress(dsn, app_id, users)
        now = time.monotonic()
        if progress.memories != last_count:
            stable_since, last_count = now, progress.memories
        if is_complete(progress, turns, memories) and (memories is not None or now - stable_since >= STABLE_S):
            return progress
        if now - started > INGEST_TIMEOUT_S:
            raise TimeoutError(f"ingest incomplete after {INGEST_TIMEOUT_S:.0f}s: {progress}")
        if now - last_report >= 15:
            print(
                f"  ... {progress.turns}/{turns} turns, {progress.memories}/{memories or '?'} memories, "
                f"{progress.pending} pending",
                flush=True,
            )
            last_report = now
        time.sleep(1.0)


def wait_for_projections(client: httpx.Client, token: str, user_id: str, app_id: str) -> None:
    """PostgreSQL is only one of four projections: a search carrying the produce's consistency token returns
    once Milvus, Neo4j and Redis have applied it too (503 while they have not, within the API's timeout)."""
    deadline = time.monotonic() + 600
    body = {"query": "warm-up", "user_id": user_id, "app_id": app_id, "consistency_token": token}
    while True:
        response = client.post("/v1/memories/search", json=body)
        if response.status_code != 503:
            response.raise_for_status()
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"projections not caught up after 10 minutes: {response.text}")


def remembered_turns(dsn: str, app_id: str, users: list[str]) -> dict[str, set[str]]:
    """The turns that yielded at least one memory, per user: what any retriever could possibly find."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT DISTINCT user_id, metadata->>'dia_id' FROM memories WHERE app_id = %s AND user_id = ANY(%s)",
            (app_id, users),
        ).fetchall()
    found: dict[str, set[str]] = {}
    for user_id, dia_id in rows:
        found.setdefault(str(user_id), set()).add(str(dia_id))
    return found


@contextlib.contextmanager
def running_api(settings: Settings, api_url: str | None, components: tuple[str, ...]) -> Iterator[System | None]:
    """The system's processes on the run's namespace, stopped afterwards; or nothing, with ``--api``."""
    if api_url is not None:
        # Before producing anything: a wrong URL would otherwise only show as an ingest that never finishes.
        httpx.get(f"{api_url}/health", timeout=5).raise_for_status()
        yield None
        return
    system = start_system(settings, Path(mkdtemp(prefix="bench-locomo-")), components=components)
    try:
        system.wait_ready()
        yield system
    finally:
        system.stop()


def api_only(system: System | None) -> None:
    """Stop the worker and the projectors once ingest is done, so searches are always timed beside the API
    alone, as in a run that reuses an earlier ingest and starts nothing else. Otherwise they would share the
    two cores with the projectors applying the ``MemoryAccessed`` events every search records (harmless to
    leave unapplied here: accesses change no ranking; the next ingest run's projectors catch up)."""
    if system is None:
        return
    for name in ("streams", "projections"):
        if name in system.procs:
            try:
                system.kill(name, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                system.kill(name, signal.SIGKILL)


# --- search ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """A question to search, with the conversation facts its request needs."""

    question: Question
    reference_time: str  # ISO: the day after the conversation's last session


@dataclass
class RecipeRun:
    rankings: dict[QuestionKey, list[str]]  # dia_id of each hit, best first ("" when a hit has none)
    client_ms: list[float]
    server_ms: list[float]
    # Always 0 with use_cache=false; with --legacy on an API that caches, a second run within the cache's
    # lifetime is served from Redis, and its latencies say nothing about search.
    cache_hits: int = 0


@dataclass(frozen=True)
class Answer:
    dia_ids: list[str]
    client_ms: float
    server_ms: float
    cache_hit: bool


def search_body(asked: Asked, app_id: str, recipe: str, legacy: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": asked.question.question,
        "user_id": asked.question.sample_id,
        "app_id": app_id,
        "top_k": TOP_K,
    }
    if not legacy:
        # Cache misses for honest latencies; "now" is just after the conversation, as for its participants.
        body.update(recipe=recipe, use_cache=False, reference_time=asked.reference_time)
    return body


def search(client: httpx.Client, body: dict[str, Any]) -> Answer:
    started = time.perf_counter()
    response = client.post("/v1/memories/search", json=body)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code >= 400:
        hint = " (an API without recipe/use_cache/reference_time? try --legacy)" if response.status_code == 400 else ""
        raise RuntimeError(f"search failed with {response.status_code}: {response.text}{hint}")
    payload = response.json()
    dia_ids = [str(hit.get("metadata", {}).get("dia_id", "")) for hit in payload["results"]]
    return Answer(dia_ids, elapsed_ms, float(payload["took_ms"]), bool(payload.get("cache_hit", False)))


def run_recipe(client: httpx.Client, plan: Sequence[Asked], app_id: str, recipe: str, legacy: bool) -> RecipeRun:
    # Not the plan's own questions: without use_cache=false (--legacy) they would be cached for the timed run.
    for asked in plan[:WARMUP_QUERIES]:
        warmup = replace(asked, question=replace(asked.question, question=f"warm-up: {asked.question.question}"))
        search(client, search_body(warmup, app_id, recipe, legacy))
    run = RecipeRun({}, [], [])
    for asked in plan:
        answer = search(client, search_body(asked, app_id, recipe, legacy))
        run.rankings[asked.question.key] = answer.dia_ids
        run.client_ms.append(answer.client_ms)
        run.server_ms.append(answer.server_ms)
        run.cache_hits += answer.cache_hit
    return run


def search_plan(conversations: Sequence[Conversation], sets: Sequence[EvidenceSet], limit: int | None) -> list[Asked]:
    """Every question that has evidence in at least one answer key, in file order, capped by ``--questions``."""
    wanted = set().union(*(s.evidence for s in sets))
    plan = [
        Asked(q, (c.last_session_at + timedelta(days=1)).isoformat())
        for c in conversations
        for q in c.questions
        if q.key in wanted
    ]
    return plan[:limit] if limit is not None else plan


# --- scoring --------------------------------------------------------------------------------------------


def score(
    evidence: EvidenceSet, categories: dict[QuestionKey, int], rankings: dict[QuestionKey, list[str]], turns: bool
) -> Table:
    """Recall per category over the searched questions; ``turns``: rank distinct turns instead of hits."""
    return average_by_category(
        (categories[key], recall_scores(ids, distinct(rankings[key]) if turns else rankings[key]))
        for key, ids in evidence.evidence.items()
        if key in rankings
    )


def coverage(
    evidence: EvidenceSet, plan: Sequence[Asked], remembered: dict[str, set[str]]
) -> tuple[Table, dict[str, int]]:
    """The recall ceiling (evidence turns with any memory at all) and how many evidence turns have none."""
    per_question = []
    cited: set[tuple[str, str]] = set()
    for asked in plan:
        ids = evidence.evidence.get(asked.question.key)
        if ids is None:
            continue
        have = remembered.get(asked.question.sample_id, set())
        per_question.append((asked.question.category, {"ceiling": sum(i in have for i in ids) / len(ids)}))
        cited.update((asked.question.sample_id, i) for i in ids)
    silent = sum(dia_id not in remembered.get(sample_id, set()) for sample_id, dia_id in cited)
    return average_by_category(per_question), {"evidence_turns": len(cited), "without_memory": silent}


def rounded(table: Table) -> Table:
    return {group: {name: round(value, 4) for name, value in scores.items()} for group, scores in table.items()}


# --- the run --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--audit", type=Path, default=DEFAULT_AUDIT)
    parser.add_argument("--conversations", type=int, help="only the first N conversations")
    parser.add_argument("--questions", type=int, help="only the first N questions (per recipe)")
    # Not checked here: the API knows its recipes and answers 400 naming them.
    parser.add_argument("--recipes", help=f"comma-separated (default: {','.join(RECIPES)})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--infer", dest="infer", action="store_true", default=True, help="extract facts (default)")
    mode.add_argument("--verbatim", dest="infer", action="store_false", help="infer=false: one memory per turn")
    parser.add_argument("--app-id", help="default: locomo-bench-infer or locomo-bench-verbatim")
    parser.add_argument("--skip-ingest", action="store_true", help="search what an earlier run ingested")
    parser.add_argument("--api", help="an already-running API (its pipeline's settings from MEMSTREAM_*)")
    parser.add_argument(
        "--port", type=int, default=API_PORT, help="port of the API the benchmark starts"
    )
    parser.add_argument(
        "--legacy", action="store_true", help="omit recipe, use_cache and reference_time (for an API without them)"
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
        with httpx.Client(base_url=base_url, timeout=120) as client:
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


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = provenance()
    conversations = load_conversations(args.data)[: args.conversations]
    original, audited, audit = evidence_sets(args, conversations)
    print_evidence(original, audited, audit)
    plan = search_plan(conversations, (original, audited), args.questions)
    events = [turn_event(t, args.app_id, COMPONENT, infer=args.infer) for c in conversations for t in c.turns]
    users = [c.sample_id for c in conversations]
    if args.api is None:
        settings = namespace_settings(Settings.from_env(), args.app_id, api_port=args.port)
        ensure_topics(settings)
    else:
        settings = Settings.from_env()
    print(f"turns topic {settings.topics.turns}, PostgreSQL {settings.postgres_dsn}", flush=True)
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
        runs: dict[str, RecipeRun] = {}
        with httpx.Client(base_url=base_url, timeout=120) as client:
            for recipe in args.recipes:
                print(f"searching {len(plan)} questions with recipe {recipe} ...", flush=True)
                runs[recipe] = run_recipe(client, plan, args.app_id, recipe, args.legacy)
    remembered = remembered_turns(settings.postgres_dsn, args.app_id, users)
    body = results(args, conversations, plan, (original, audited, audit), runs, remembered, progress, ingest_report)
    report(body, runs)
    print(f"wrote {write_results('locomo', body, started)}")


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
