"""Time-scoped recall on LoCoMo: questions that name a time or a session, scored by the session they name.

The questions come from ``bench.locomo_time_questions`` (seeded, from LoCoMo's session dates: every form of
issue 18, point 2). The turns are ingested as ``bench.locomo`` ingests them (the same namespace, so an earlier
``bench.locomo`` run is reused with ``--skip-ingest``): each dated at its session as ``occurred_at``. Each
question is asked through ``POST /v1/memories/search`` with its ``reference_time``, as a user would, and
scored by session recall@k: is at least one of the top k hits from a session the question names.

    .venv/bin/python -m bench.locomo_time --app-id locomo-gen-1205 --skip-ingest    # after bench.locomo
    .venv/bin/python -m bench.locomo_time --per-form 5 --seed 3 --recipes hybrid

The whole conversation is in the store whatever the reference time (later sessions too): the question's time,
not the store's contents, must scope the answer.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.common import percentiles, provenance, write_results
from bench.locomo import API_PORT, DEFAULT_DATA, ingested
from bench.locomo_data import load_conversations
from bench.locomo_search import search
from bench.locomo_split import HALVES, WHOLE, in_half
from bench.locomo_time_questions import (
    FORMS,
    TimeQuestion,
    generate,
    read_sessions,
    session_dates,
    session_hit_at,
    session_number,
)

KS = (5, 10)
PARTS = (WHOLE, *HALVES)
WARMUP_QUERIES = 5


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", type=int, help="only the first N conversations")
    parser.add_argument("--per-form", type=int, default=5, help="questions per form and conversation")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--recipes", default="hybrid,dense", help="comma-separated")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--infer", dest="infer", action="store_true", default=True, help="extract facts (default)")
    mode.add_argument("--verbatim", dest="infer", action="store_false", help="infer=false: one memory per turn")
    parser.add_argument("--app-id", help="default: bench.locomo's, locomo-bench-infer or locomo-bench-verbatim")
    parser.add_argument("--skip-ingest", action="store_true", help="search what an earlier run ingested")
    parser.add_argument("--api", help="an already-running API (as bench.locomo --api)")
    parser.add_argument("--port", type=int, default=API_PORT, help="port of the API the benchmark starts")
    args = parser.parse_args(argv)
    args.app_id = args.app_id or f"locomo-bench-{'infer' if args.infer else 'verbatim'}"
    args.recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    return args


def search_body(question: TimeQuestion, app_id: str, recipe: str) -> dict[str, Any]:
    return {
        "query": question.question,
        "user_id": question.sample_id,
        "app_id": app_id,
        "top_k": max(KS),
        "recipe": recipe,
        "use_cache": False,
        "reference_time": question.reference_time.isoformat(),
    }


def ask_all(client: httpx.Client, questions: Sequence[TimeQuestion], app_id: str, recipe: str) -> list[dict[str, Any]]:
    for question in questions[:WARMUP_QUERIES]:  # load the query embedder, warm the pools
        search(client, search_body(question, app_id, recipe) | {"query": f"warm-up: {question.question}"})
    asked = []
    for question in questions:
        answer = search(client, search_body(question, app_id, recipe))
        asked.append(
            {
                "form": question.form,
                "conversation": question.conversation,
                "question": question.question,
                "reference_time": question.reference_time.isoformat(),
                "evidence": list(question.evidence),
                "hit_sessions": [session_number(d) for d in answer.dia_ids],
                **{f"hit@{k}": session_hit_at(question.evidence, answer.dia_ids, k) for k in KS},
                "api_read_time": answer.read_time,
                "server_ms": answer.server_ms,
            }
        )
    return asked


def per_form(asked: Sequence[dict[str, Any]], reader_ok: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Session recall@k per form, on the whole set and on each half, and how often the API read a time range."""
    table: dict[str, dict[str, Any]] = {}
    for form in [*FORMS, "all forms"]:
        rows = [a for a in asked if form in (a["form"], "all forms")]
        if not rows:
            continue
        entry: dict[str, Any] = {"questions": len(rows)}
        for part in PARTS:
            part_rows = [a for a in rows if in_half((a["conversation"], 0), part)]
            for k in KS:
                if part_rows:
                    entry[f"{part} R@{k}"] = round(sum(a[f"hit@{k}"] for a in part_rows) / len(part_rows), 3)
        entry["api read a range"] = round(sum(a["api_read_time"] for a in rows) / len(rows), 3)
        entry["reader names the sessions"] = reader_ok.get(form)
        table[form] = entry
    return table


def reader_agreement(questions: Sequence[TimeQuestion], conversations: Sequence[Any]) -> dict[str, float]:
    """Per form, the share of questions whose phrase the temporal reader (offline) reads as a window or session
    count holding every evidence session: what search could scope by, whether or not it does yet."""
    by_index = {c.index: session_dates(c) for c in conversations}
    ok: dict[str, list[bool]] = {}
    for q in questions:
        read = set(read_sessions(q, by_index[q.conversation]))
        ok.setdefault(q.form, []).append(set(q.evidence) <= read)
        ok.setdefault("all forms", []).append(set(q.evidence) <= read)
    return {form: round(sum(v) / len(v), 3) for form, v in ok.items()}


def print_table(recipe: str, table: dict[str, dict[str, Any]]) -> None:
    headers = ["form", "n", *(f"{p} R@10" for p in PARTS), "whole R@5", "API range", "reader"]
    print(f"\nsession recall, recipe {recipe} (tuning = conversations 0-4, held-out = 5-9)")
    print(" | ".join(headers))
    for form, e in table.items():
        cells = [form, str(e["questions"]), *(f"{e.get(f'{p} R@10', float('nan')):.2f}" for p in PARTS)]
        cells += [f"{e['whole R@5']:.2f}", f"{e['api read a range']:.2f}", f"{e['reader names the sessions']:.2f}"]
        print(" | ".join(cells))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = provenance()
    conversations = load_conversations(args.data)[: args.conversations]
    questions = generate(conversations, args.per_form, args.seed)
    print(f"{len(questions)} questions, {len(FORMS)} forms, seed {args.seed}", flush=True)
    reader_ok = reader_agreement(questions, conversations)
    asked: dict[str, list[dict[str, Any]]] = {}
    with ingested(args, conversations) as ready, ready.client() as client:
        for recipe in args.recipes:
            print(f"asking {len(questions)} questions with recipe {recipe} ...", flush=True)
            asked[recipe] = ask_all(client, questions, args.app_id, recipe)
    tables = {recipe: per_form(rows, reader_ok) for recipe, rows in asked.items()}
    for recipe, table in tables.items():
        print_table(recipe, table)
    body = {
        "benchmark": "locomo_time",
        "settings": {
            "app_id": args.app_id,
            "data": str(args.data),
            "conversations": len(conversations),
            "per_form": args.per_form,
            "seed": args.seed,
            "recipes": args.recipes,
            "halves": {name: list(indices) for name, indices in HALVES.items()},
            "memories": ready.progress.memories,
        },
        "ingest": ready.ingest_report,
        "session_recall": tables,
        "server_ms": {recipe: percentiles([a["server_ms"] for a in rows]) for recipe, rows in asked.items()},
        "questions": asked,
    }
    print(f"wrote {write_results('locomo_time', body, started)}")


if __name__ == "__main__":
    main()
