"""mem0 beside memstream on LoCoMo: the same turns and questions, one run, add and search latency and recall.

mem0 (``mem0ai``, pinned in ``bench.peers.mem0_peer``) runs in a virtual environment of its own that this
benchmark creates once under ``.data/peers/mem0-venv``, as a child process with every outbound connection
refused and counted (``bench.peers.netguard``). Its ``Memory`` uses a local on-disk Qdrant, ``infer=False``
(each turn stored as said; its LLM is pointed at a loopback server that counts calls: it must stay at 0) and
memstream's own MiniLM, served to it over an OpenAI-compatible ``/v1/embeddings`` on the loopback
(``bench.peers.embedding_server``).

memstream runs as ``bench.locomo`` runs it (its own namespace, worker, projectors and API started here) and is
driven through its API: each turn is one ``POST /v1/memories`` (``infer`` false by default, like mem0's;
``--infer`` for memstream's rule extraction), each question one ``POST /v1/memories/search`` with the hybrid
recipe, top 50, ``use_cache`` false, ``reference_time`` the day after the conversation.

What the add latencies measure differs, and both are reported: mem0's ``add`` returns once the turn is
embedded and written (searchable on return); memstream's POST returns once the turn is durably in Kafka
(accepted), and the pipeline embeds and indexes it afterwards, so the run also reports memstream's time from
the first POST until every store holds every turn. Order: mem0's adds first (memstream's processes idle), then
memstream's POSTs (its pipeline working as it would), then the questions, each asked of memstream and of mem0
in turn with only memstream's API running, so load changes hit both alike.

    .venv/bin/python -m bench.peers.mem0_locomo                       # all 10 conversations
    .venv/bin/python -m bench.peers.mem0_locomo --conversations 2     # a quick run
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from adapters.kafka import ensure_topics
from adapters.settings_loader import load_settings
from adapters.token_key import token_key
from bench.common import api_client, namespace_settings, percentiles, provenance, write_results
from bench.locomo import expected_count, load_questions, question_parser
from bench.locomo_data import Conversation, LocomoTurn, turn_event
from bench.locomo_ingest import api_only, running_api, wait_for_ingest, wait_for_projections
from bench.locomo_search import TOP_K, WARMUP_QUERIES, Asked, search, search_body
from bench.peers import compare
from bench.peers.embedding_server import EmbeddingServer
from bench.peers.mem0_peer import DEFAULT_VENV, REQUIREMENTS, Mem0Child, ensure_venv, installed_versions, mem0_config
from memory.contract.positions import LogPosition, encode_token
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.processes import System
from models.embedder import build_embedder

API_PORT = 18194  # beside bench.locomo (18193)
COMPONENT = "bench.peers.mem0_locomo"
RECIPE = "hybrid"
MEM0_THRESHOLD = 0.1  # mem0's own default for Memory.search
RUNS_DIR = PROJECT_ROOT / ".data" / "peers" / "runs"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = question_parser(__doc__)
    parser.add_argument("--infer", action="store_true", help="memstream extracts facts (default: verbatim, as mem0)")
    parser.add_argument("--port", type=int, default=API_PORT, help="port of the API the benchmark starts")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="mem0's virtual environment (made if absent)")
    parser.add_argument("--mem0-threshold", type=float, default=MEM0_THRESHOLD, help="Memory.search threshold")
    return parser.parse_args(argv)


@dataclass
class SystemRun:
    """What one system did: per-turn add latencies, per-question search latencies and rankings."""

    add_ms: list[float] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    rankings: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def turn_message(turn: LocomoTurn) -> dict[str, str]:
    """The turn as both systems receive it: the same message (speaker as the message's name)."""
    return {"role": "user", "content": turn.text, "name": turn.speaker}


def memstream_add_body(turn: LocomoTurn, app_id: str, infer: bool) -> dict[str, Any]:
    return {
        "user_id": turn.sample_id,
        "app_id": app_id,
        "conversation_id": turn.sample_id,
        "messages": [turn_message(turn)],
        "infer": infer,
        "occurred_at": turn.occurred_at.isoformat(),
        "metadata": {"dia_id": turn.dia_id},
    }


def add_to_mem0(child: Mem0Child, turns: Sequence[LocomoTurn], run: SystemRun) -> None:
    started = time.perf_counter()
    for n, turn in enumerate(turns, 1):
        body = {"op": "add", "messages": [turn_message(turn)], "user_id": turn.sample_id,
                "metadata": {"dia_id": turn.dia_id}}
        call = child.call(body)
        run.add_ms.append(call.ms)
        run.extra.setdefault("add_round_trip_ms", []).append(call.round_trip_ms)
        if n % 1000 == 0:
            print(f"  mem0: {n}/{len(turns)} turns added", flush=True)
    run.extra["ingest_wall_s"] = round(time.perf_counter() - started, 2)


def add_to_memstream(
    client: httpx.Client, turns: Sequence[LocomoTurn], app_id: str, infer: bool, run: SystemRun
) -> list[LogPosition]:
    """One POST per turn, timed from the client; the positions, for the token that waits for every store."""
    positions: list[LogPosition] = []
    refused: list[str] = []
    for n, turn in enumerate(turns, 1):
        started = time.perf_counter()
        response = client.post("/v1/memories", json=memstream_add_body(turn, app_id, infer))
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            refused.append(f"{turn.sample_id} {turn.dia_id}: {response.status_code} {response.text[:200]}")
            continue
        run.add_ms.append(elapsed_ms)
        positions += [LogPosition(str(p["topic"]), int(p["partition"]), int(p["offset"]))
                      for p in response.json()["positions"]]
        if n % 1000 == 0:
            print(f"  memstream: {n}/{len(turns)} turns accepted", flush=True)
    run.extra["refused_turns"] = refused
    return positions


def ask_both(
    client: httpx.Client, child: Mem0Child, plan: Sequence[Asked], app_id: str, threshold: float,
    memstream: SystemRun, mem0: SystemRun,
) -> None:
    """Each question of memstream, then of mem0: alternating, so a change of load on the machine hits both."""
    def mem0_search(asked: Asked) -> Any:
        return child.call({"op": "search", "query": asked.question.question, "user_id": asked.question.sample_id,
                           "top_k": TOP_K, "threshold": threshold})

    for asked in plan[:WARMUP_QUERIES]:  # loads both query paths; not timed, not scored
        search(client, search_body(asked, app_id, RECIPE, legacy=False))
        mem0_search(asked)
    short = {"memstream": 0, "mem0": 0}  # fewer than 25 hits: R@25 cannot use its whole depth
    for n, asked in enumerate(plan, 1):
        answer = search(client, search_body(asked, app_id, RECIPE, legacy=False))
        memstream.search_ms.append(answer.client_ms)
        memstream.extra.setdefault("search_server_took_ms", []).append(answer.server_ms)
        memstream.rankings[asked.question.key] = answer.dia_ids
        call = mem0_search(asked)
        mem0.search_ms.append(call.ms)
        mem0.extra.setdefault("search_round_trip_ms", []).append(call.round_trip_ms)
        mem0.rankings[asked.question.key] = compare.ranking(call.body["hits"])
        short["memstream"] += len(answer.dia_ids) < 25
        short["mem0"] += len(call.body["hits"]) < 25
        if n % 250 == 0:
            print(f"  {n}/{len(plan)} questions asked of both", flush=True)
    memstream.extra["searches_under_25_hits"], mem0.extra["searches_under_25_hits"] = short["memstream"], short["mem0"]


def memstream_ingest(
    settings: Settings, client: httpx.Client, system: System, turns: Sequence[LocomoTurn], app_id: str, infer: bool,
    run: SystemRun,
) -> None:
    """POST every turn, then wait until PostgreSQL, Milvus, Neo4j and Redis hold all of it."""
    users = sorted({t.sample_id for t in turns})
    started = time.perf_counter()
    positions = add_to_memstream(client, turns, app_id, infer, run)
    run.extra["post_wall_s"] = round(time.perf_counter() - started, 2)
    accepted = len(turns) - len(run.extra["refused_turns"])
    events = [turn_event(t, app_id, COMPONENT, infer=infer) for t in turns]
    # Refused turns are not in the log: then only a memory count that stops moving says the ingest is done.
    expected = None if run.extra["refused_turns"] else expected_count(argparse.Namespace(infer=infer), settings, events)
    wait_for_ingest(settings.postgres_dsn, app_id, users, accepted, expected, system)
    wait_for_projections(client, encode_token(positions, token_key(settings)), users[0], app_id)
    run.extra["ingest_wall_s"] = round(time.perf_counter() - started, 2)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = provenance()
    loaded = load_questions(args)
    conversations, plan, original, audited = loaded.conversations, loaded.plan, loaded.original, loaded.audited
    turns = [t for c in conversations for t in c.turns]
    users = [c.sample_id for c in conversations]
    # A fresh namespace and a fresh mem0 store each run: adds are measured into an empty system on both sides.
    run_id = f"mem0-side-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    run_dir = RUNS_DIR / run_id
    settings = namespace_settings(load_settings(), run_id, api_port=args.port)
    ensure_topics(settings)
    python = ensure_venv(args.venv)
    embedder = build_embedder(settings, for_queries=True)  # the API's own query embedder, for mem0's every text
    memstream, mem0 = SystemRun(), SystemRun()
    loads = {"start": load_now()}  # 1/5/15-minute load averages as each phase ends: the machine is shared
    print(f"run {run_id}: {len(turns)} turns of {len(users)} conversations, {len(plan)} questions", flush=True)
    with (
        running_api(settings, None, ("streams", "projections", "api")) as system,
        EmbeddingServer(embedder) as server,
    ):
        config = mem0_config(run_dir / "mem0", server.base_url, embedder.model_name, embedder.dim, "locomo")
        with Mem0Child(python, config, run_dir / "mem0-home", run_dir / "mem0-runner.log") as child:
            print(f"mem0: adding {len(turns)} turns (infer=False) ...", flush=True)
            add_to_mem0(child, turns, mem0)
            loads["mem0_added"] = load_now()
            assert system is not None
            with api_client(settings, system.base_url, run_id, timeout=120) as client:
                print(f"memstream: posting {len(turns)} turns ...", flush=True)
                memstream_ingest(settings, client, system, turns, run_id, args.infer, memstream)
                loads["memstream_ingested"] = load_now()
                api_only(system)
                print(f"asking {len(plan)} questions of both ...", flush=True)
                ask_both(client, child, plan, run_id, args.mem0_threshold, memstream, mem0)
                loads["searched"] = load_now()
            mem0.extra["guard"] = child.request({"op": "stats"})
            mem0.extra["startup_guard"] = child.startup
        mem0.extra["embedding_server"] = {
            "requests": server.counts.embed_requests,
            "texts": server.counts.texts,
            "embed_ms": percentiles(server.counts.embed_ms),
            "llm_calls": server.counts.llm_calls,
            "other_requests": server.counts.other_requests,
        }
    body = results(args, run_id, conversations, plan, (original, audited), memstream, mem0, python)
    body["load_average"] = loads
    print()
    print(body["table_markdown"])
    guard = mem0.extra["guard"]
    print(f"\nmem0 outbound connection attempts refused: {guard['outbound_attempts']}; LLM calls: "
          f"{mem0.extra['embedding_server']['llm_calls']}; load averages {loads}")
    print(f"wrote {write_results('mem0_locomo', body, started)}")


def results(
    args: argparse.Namespace, run_id: str, conversations: list[Conversation], plan: list[Asked],
    sets: tuple[Any, Any], memstream: SystemRun, mem0: SystemRun, python: Path,
) -> dict[str, Any]:
    original, audited = sets
    categories = {a.question.key: a.question.category for a in plan}
    recalls = {
        name: {"memstream": compare.recall(s, categories, memstream.rankings),
               "mem0": compare.recall(s, categories, mem0.rankings)}
        for name, s in (("original", original), ("audited", audited))
    }
    add = {"memstream": percentiles(memstream.add_ms), "mem0": percentiles(mem0.add_ms)}
    search_lat = {"memstream": percentiles(memstream.search_ms),
                  "mem0": percentiles(mem0.search_ms)}
    extra_lat = {
        "memstream_search_server_took": percentiles(memstream.extra.get("search_server_took_ms", [])),
        "mem0_add_round_trip": percentiles(mem0.extra.get("add_round_trip_ms", [])),
        "mem0_search_round_trip": percentiles(mem0.extra.get("search_round_trip_ms", [])),
    }
    return {
        "benchmark": "mem0_locomo",
        "settings": {
            "run_id": run_id,
            "conversations": len(conversations),
            "turns": sum(len(c.turns) for c in conversations),
            "questions": len(plan),
            "memstream": {"recipe": RECIPE, "top_k": TOP_K, "infer": args.infer, "use_cache": False},
            "mem0": {"requirements": list(REQUIREMENTS), "infer": False, "top_k": TOP_K,
                     "threshold": args.mem0_threshold, "vector_store": "qdrant (embedded, on disk)",
                     "installed": installed_versions(python)},
        },
        "latency_ms": {"add": add, "search": search_lat, **extra_lat},
        "latency_ratio_memstream_over_mem0": {
            "add": compare.latency_ratios(add["memstream"], add["mem0"]),
            "search": compare.latency_ratios(search_lat["memstream"], search_lat["mem0"]),
        },
        "recall": recalls,
        "recall_comparison": {
            name: compare.recall_comparison(r["memstream"], r["mem0"]) for name, r in recalls.items()
        },
        "ingest": {
            "memstream_post_wall_s": memstream.extra.get("post_wall_s"),
            "memstream_until_all_stores_s": memstream.extra.get("ingest_wall_s"),
            "memstream_refused_turns": memstream.extra.get("refused_turns"),
            "mem0_add_wall_s": mem0.extra.get("ingest_wall_s"),
        },
        "searches_under_25_hits": {
            "memstream": memstream.extra.get("searches_under_25_hits"),
            "mem0": mem0.extra.get("searches_under_25_hits"),
        },
        "mem0_offline": {
            "outbound_attempts": mem0.extra["guard"]["outbound_attempts"],
            "refused": mem0.extra["guard"]["refused"],
            "at_startup": mem0.extra["startup_guard"].get("outbound_attempts"),
            "versions": mem0.extra["guard"].get("versions"),
            "embedding_server": mem0.extra["embedding_server"],
        },
        "table_markdown": compare.markdown_table(recalls["original"], add, search_lat),
        "table_markdown_audited": compare.markdown_table(recalls["audited"], add, search_lat),
    }


if __name__ == "__main__":
    main()
