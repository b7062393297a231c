"""Every ranking prior and weight of the search, checked on LoCoMo's tuning half and held-out half (issue 18, point 4).

The retrievers run once per question, in this process, through the API's own search engine on a namespace
``bench.locomo`` ingested (``api.services`` → ``SearchEngine.prepare`` and ``retrieve``, the row fetch and the
turn positions: what ``POST /v1/memories/search`` does before ordering). Then ``memory.retrieval.scoring.final_order``
— the pure step where every prior lives — orders the same inputs once per variant: the recipe as it is, and with
one prior or one retriever's vote switched off at a time. The "as is" variant is exactly the API's ordering, so
its figures must equal ``bench.locomo``'s for the recipe (printed beside them to check).

    .venv/bin/python -m bench.locomo --app-id locomo-gen-1205 --split          # ingest and the API figures
    .venv/bin/python -m bench.locomo_priors --app-id locomo-gen-1205            # the ablations, per half

A prior earns its place when switching it off lowers R@10 on the held-out half (conversations 5-9); the
verdict column says so. The retrieval-stage constants (dominance and topic cuts, BM25's b, the dense similarity
floor, candidates per retriever) and the topic walk's speaker restriction (in its Cypher) are not varied here.
The graph walks' second hops were checked by this benchmark and removed (2026-12-05: held-out gain 0.0 and -0.4).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from adapters.settings_loader import load_settings
from api.reader import candidate_row
from api.schemas import SearchRequest
from api.search import as_utc, validate
from api.services import build_services
from bench.common import namespace_settings, provenance, write_results
from bench.locomo import DEFAULT_AUDIT, DEFAULT_DATA, evidence_sets
from bench.locomo_data import OVERALL, EvidenceSet, QuestionKey, Table, load_conversations
from bench.locomo_search import TOP_K, Asked, rounded, score, search_body, search_plan
from bench.locomo_split import HALVES, HELD_OUT, TUNING, WHOLE, restrict
from memory.contract.events import Scope
from memory.language.time_expressions import TimeRange
from memory.retrieval import specificity as specificity_module
from memory.retrieval.recipes import SearchRecipe, recipe_named
from memory.retrieval.scoring import CandidateRow, Found, final_order
from memory.retrieval.time_scope import Scoping, scoping, window_lean

PARTS = (WHOLE, TUNING, HELD_OUT)


@dataclass(frozen=True)
class Captured:
    """What the ordering of one question is computed from: the retrievers' answers and the rows they found."""

    found: dict[str, list[Found]]
    rows: dict[str, CandidateRow]
    dia_ids: dict[str, str]
    positions: dict[tuple[str, str], int]
    text: str
    reference: datetime
    span: TimeRange | None


@dataclass(frozen=True)
class Variant:
    """The recipe with one thing switched off: a field of the recipe, or a module constant of the ordering."""

    name: str
    what: str  # the prior, as the report names it
    changes: Mapping[str, Any]
    drop_span: bool = False  # the time range the query names no longer weighs at all (no prior, no window lean)
    drop_range_prior: bool = False  # only the out-of-range factor goes; the window lean (point 3) stays
    without: str | None = None  # a retriever whose vote is dropped (as the no_graph / no_temporal recipes do)
    question_factor: float | None = None  # memory.retrieval.specificity.QUESTION_FACTOR


VARIANTS = (
    Variant("as is", "", {}),
    Variant("no match strength", "dense/sparse votes x (score / best) ^ 1.0", {"match_strength_exponent": 0.0}),
    Variant("no specificity", "specificity ^ 0.7 (and the question discount)", {"specificity_exponent": 0.0}),
    Variant("no question discount", "questions x 0.6", {}, question_factor=1.0),
    Variant("no speaker boost", "x 1.3 for the one speaker the query names", {"speaker_boost": 1.0}),
    Variant("no sibling support", "a turn's best memory + 0.25 of its siblings", {"sibling_share": 0.0}),
    Variant("no neighbour support", "+ 0.3 of turns ±2 above the median", {"neighbour_share": 0.0}),
    Variant("no importance", "5 % of the final score", {"importance_share": 0.0}),
    Variant("no recency", "2 % of the final score, half-life 30 days", {"recency_share": 0.0}),
    Variant("no time-range prior", "x 0.5 outside the asked range (0.8 vague)", {}, drop_range_prior=True),
    Variant("no window lean", "x 1.25 for the window's topic hits (a time and a topic)", {"window_boost": 1.0}),
    Variant("no time at all", "neither the time-range prior nor the window lean", {}, drop_span=True),
    Variant("no dense vote", "the dense retriever's vote, weight 1", {}, without="dense"),
    Variant("no sparse vote", "the sparse retriever's vote, weight 1", {}, without="sparse"),
    Variant("no graph vote", "the graph retriever's vote, weight 1", {}, without="graph"),
    Variant("no temporal vote", "the temporal retriever's vote, weight 1", {}, without="temporal"),
    Variant(
        "none of the priors",
        "plain weighted RRF",
        {
            "match_strength_exponent": 0.0,
            "specificity_exponent": 0.0,
            "speaker_boost": 1.0,
            "sibling_share": 0.0,
            "neighbour_share": 0.0,
            "importance_share": 0.0,
            "recency_share": 0.0,
        },
        drop_span=True,
    ),
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--audit", type=Path, default=DEFAULT_AUDIT)
    parser.add_argument("--app-id", required=True, help="a namespace bench.locomo ingested")
    parser.add_argument("--recipes", default="hybrid,dense", help="comma-separated: each is ablated on its own")
    parser.add_argument("--questions", type=int, help="only the first N questions")
    args = parser.parse_args(argv)
    args.recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    return args


# --- capture: the retrievers, once per question --------------------------------------------------------------


async def capture(settings: Any, plan: Sequence[Asked], app_id: str) -> dict[QuestionKey, Captured]:
    """Every question's retriever answers with the hybrid recipe (every retriever), and the rows they found."""
    services = await build_services(settings)
    hybrid = recipe_named("hybrid")
    captured: dict[QuestionKey, Captured] = {}
    try:
        engine = (await services.view()).search
        for n, asked in enumerate(plan):
            raw = msgspec.json.encode(search_body(asked, app_id, "hybrid", legacy=False))
            scope = Scope(app_id, asked.question.sample_id)
            valid = validate(msgspec.json.decode(raw, type=SearchRequest), scope)
            reference = as_utc(valid.body.reference_time)
            assert reference is not None
            query, _source = await engine.prepare(valid.body, scope, hybrid, reference)
            found = await engine.retrieve(query, {})
            if query.embedding is not None and not query.embedding.done():
                query.embedding.cancel()
            visible, params = query.visibility.sql()
            wanted = list(dict.fromkeys(f.memory_id for matches in found.values() for f in matches))
            rows = await engine.reader.search_rows(wanted, app_id, scope.user_id, visible, params)
            positions = await engine.reader.turn_positions(wanted, app_id, scope.user_id)
            captured[asked.question.key] = Captured(
                found,
                {memory_id: candidate_row(row) for memory_id, row in rows.items()},
                {memory_id: str((row["metadata"] or {}).get("dia_id", "")) for memory_id, row in rows.items()},
                positions,
                query.text,
                reference,
                query.time_range,
            )
            if n % 250 == 0:
                print(f"  captured {n}/{len(plan)}", flush=True)
    finally:
        await services.close()
    return captured


# --- re-ranking: the pure ordering, once per variant -----------------------------------------------------------


@contextlib.contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    """A module constant set for one variant, restored after (read at each call by the code that uses it)."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def question_factor(value: float | None) -> contextlib.AbstractContextManager[None]:
    """The question discount (memory.retrieval.specificity.QUESTION_FACTOR), when the variant changes it."""
    return contextlib.nullcontext() if value is None else patched(specificity_module, "QUESTION_FACTOR", value)


def ordered(c: Captured, recipe: SearchRecipe, drop_span: bool, drop_range_prior: bool = False) -> list[str]:
    """The dia_ids of the top hits, as the API would order them for this recipe (a question naming a time and a
    topic leans on the window as the API's does; one naming a time alone is ordered like any other here, where
    the API reads the window whole: LoCoMo's questions are about topics)."""
    kinds = {r.value for r in recipe.retrievers}
    found = {kind: matches for kind, matches in c.found.items() if kind in kinds}
    # The API fetches rows of what this recipe's retrievers found only: the speakers the ordering sees are theirs.
    ids = {f.memory_id for matches in found.values() for f in matches}
    rows = {memory_id: row for memory_id, row in c.rows.items() if memory_id in ids}
    asked = None if drop_span or "temporal" not in kinds else c.span
    span = None if drop_range_prior else asked
    order = final_order(found, rows, recipe, c.text, c.reference, span, c.positions)
    if recipe.time_scoping and asked is not None and scoping(c.text, asked) is Scoping.TIME_AND_TOPIC:
        order = window_lean(order, rows, asked, recipe.window_boost)
    return [c.dia_ids[s.memory_id] for s in order[:TOP_K]]


def applies(variant: Variant, recipe: SearchRecipe) -> bool:
    """A retriever's vote can be dropped only where it is one of several; a time range weighs only where the
    recipe reads time (runs the temporal retriever)."""
    kinds = {r.value for r in recipe.retrievers}
    if variant.without is not None:
        return variant.without in kinds and len(kinds) > 1
    reads_time = "temporal" in kinds
    return not (variant.drop_span or variant.drop_range_prior) or reads_time or bool(variant.changes)


def rankings_for(
    captured: Mapping[QuestionKey, Captured], recipe: SearchRecipe, variant: Variant
) -> dict[QuestionKey, list[str]]:
    changed = replace(recipe, **variant.changes)
    if variant.without is not None:
        changed = replace(changed, retrievers=tuple(r for r in recipe.retrievers if r.value != variant.without))
    with question_factor(variant.question_factor):
        return {key: ordered(c, changed, variant.drop_span, variant.drop_range_prior) for key, c in captured.items()}


def figures(
    sets: Mapping[str, EvidenceSet], categories: dict[QuestionKey, int], rankings: dict[QuestionKey, list[str]]
) -> dict[str, dict[str, Table]]:
    return {
        name: {part: rounded(score(restrict(s, part), categories, rankings, turns=False)) for part in PARTS}
        for name, s in sets.items()
    }


def r10(table: Table) -> float:
    return 100 * table[OVERALL]["R@10"]


def verdicts(results: Mapping[str, Mapping[str, Any]], evidence: str = "original") -> dict[str, dict[str, Any]]:
    """Per variant, what switching it off does to R@10 on each half, and whether the prior stays."""
    base = results["as is"][evidence]
    out: dict[str, dict[str, Any]] = {}
    for name, by_set in results.items():
        if name == "as is":
            continue
        delta = {part: round(r10(base[part]) - r10(by_set[evidence][part]), 2) for part in PARTS}
        out[name] = {"gain_points": delta, "helps_held_out": delta[HELD_OUT] > 0, "helps_tuning": delta[TUNING] > 0}
    return out


def print_report(recipe: str, results: Mapping[str, Mapping[str, Any]]) -> None:
    for evidence in ("original", "audited"):
        print(f"\n{recipe}, {evidence} evidence: R@10 whole / tuning (0-4) / held-out (5-9); gain = as is - variant")
        base = results["as is"][evidence]
        for variant in (v for v in VARIANTS if v.name in results):
            tables = results[variant.name][evidence]
            cells = " / ".join(f"{r10(tables[p]):.1f}" for p in PARTS)
            gains = " / ".join(f"{r10(base[p]) - r10(tables[p]):+.1f}" for p in PARTS)
            print(f"  {variant.name:22} {cells}   gain {gains}   {variant.what}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = provenance()
    conversations = load_conversations(args.data)
    original, audited, _ = evidence_sets(args, conversations)
    sets = {"original": original, "audited": audited}
    plan = search_plan(conversations, (original, audited), args.questions)
    categories = {a.question.key: a.question.category for a in plan}
    settings = namespace_settings(load_settings(), args.app_id)
    print(f"capturing the retrievers' answers to {len(plan)} questions ...", flush=True)
    began = time.perf_counter()
    captured = asyncio.run(capture(settings, plan, args.app_id))
    print(f"captured in {time.perf_counter() - began:.0f} s", flush=True)
    body: dict[str, Any] = {"benchmark": "locomo_priors", "settings": vars(args) | {"data": str(args.data)}}
    body["halves"] = {name: list(indices) for name, indices in HALVES.items()}
    body["recipes"] = {}
    for recipe_name in args.recipes:
        recipe = recipe_named(recipe_name)
        results: dict[str, Any] = {}
        for variant in (v for v in VARIANTS if applies(v, recipe)):
            results[variant.name] = figures(sets, categories, rankings_for(captured, recipe, variant))
        print_report(recipe_name, results)
        body["recipes"][recipe_name] = {"recall": results, "verdicts": verdicts(results)}
    body["settings"]["audit"] = str(args.audit)
    print(f"wrote {write_results('locomo_priors', body, started)}")

if __name__ == "__main__":
    main()
