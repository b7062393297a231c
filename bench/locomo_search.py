"""LoCoMo benchmark, the search side: the questions to ask, one request per question and recipe, and the
recall and ceiling of what came back.

Apart from ``bench.locomo`` (the command line and the report) so that the entry module reads as the run it
is; the request body and the scoring are unit-tested here without a running system.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx

from bench.locomo_data import (
    KS,
    Conversation,
    EvidenceSet,
    Question,
    QuestionKey,
    Table,
    average_by_category,
    distinct,
    recall_scores,
)

TOP_K = max(KS)  # one request per question; every smaller k is a prefix of its hits
WARMUP_QUERIES = 10  # the first searches load the query embedder and warm the pools: not timed


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
    read_time: bool = False  # the API read a time range from the query (its answer's ``time_range``)


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
    return Answer(
        dia_ids,
        elapsed_ms,
        float(payload["took_ms"]),
        bool(payload.get("cache_hit", False)),
        payload.get("time_range") is not None,
    )


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
