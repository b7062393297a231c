"""Consolidation on LoCoMo: what a user keeps (memories, tokens) and what retrieval still finds, on vs off.

The ten LoCoMo conversations are ingested through the real pipeline (as ``bench/locomo.py`` does). Then:
- off: the active memories and their tokens per user, and recall@10 of the hybrid search;
- on: every user is ticked once at the day after their last session (a ``tick`` command, as the worker's
  timer sends), so memories older than the age threshold (30 days by default) are consolidated into
  extractive summaries and their originals archived; the same figures again.
A summary hit covers the turns of the originals whose sentences it kept (checked by text, not assumed), so
recall is counted twice: by items (a summary is one item) and by turns (the first 10 turns, a summary's
turns expanded in place), the latter comparable with the off run.

    .venv/bin/python -m bench.lifecycle                # ~10 minutes on the 2-core machine
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import psycopg

from adapters.kafka import SyncProducer, ensure_topics, make_producer
from adapters.settings_loader import load_settings
from adapters.token_key import token_key
from bench.common import api_client, namespace_settings, write_results
from bench.locomo import DEFAULT_AUDIT, DEFAULT_DATA, evidence_sets, expected_count, ingest
from bench.locomo_data import Conversation, QuestionKey, load_conversations, turn_event
from bench.locomo_ingest import running_api
from bench.locomo_search import Asked, search_plan
from memory.contract.codec import Codec
from memory.contract.events import Scope
from memory.contract.positions import encode_token
from memory.lifecycle.dedupe import normalise
from memory.settings import Settings
from models.tokens import TokenCounter
from streams.agents.lifecycle import tick_command

API_PORT = 18194
K = 10
COMPONENT = "bench.lifecycle"


def kept(dsn: str, app_id: str, counter: TokenCounter) -> dict[str, Any]:
    """Active (searchable, current) memories and their tokens, in all and per kind; archived ones too."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT kind, state, text FROM memories WHERE app_id = %s AND valid_to IS NULL"
            " AND state = ANY('{active,accessed,decaying,archived}')",
            (app_id,),
        ).fetchall()
    active = [(kind, text) for kind, state, text in rows if state != "archived"]
    archived = [text for _, state, text in rows if state == "archived"]
    return {
        "active_memories": len(active),
        "active_tokens": sum(counter.count(text) for _, text in active),
        "summaries": sum(1 for kind, _ in active if kind == "summary"),
        "archived_memories": len(archived),
        "archived_tokens": sum(counter.count(text) for text in archived),
    }


def summary_coverage(dsn: str, app_id: str) -> dict[str, list[str]]:
    """Per summary, the dia ids of the originals whose sentence it still says."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT s.memory_id, s.text, o.text, o.metadata->>'dia_id' FROM memory_lineage l"
            " JOIN memories s ON s.memory_id = l.from_memory_id JOIN memories o ON o.memory_id = l.to_memory_id"
            " WHERE l.relation = 'summarizes' AND s.app_id = %s",
            (app_id,),
        ).fetchall()
    covered: dict[str, list[str]] = {}
    for summary_id, summary, original, dia_id in rows:
        if dia_id and normalise(original) in normalise(summary):
            covered.setdefault(summary_id, []).append(dia_id)
    return covered


@dataclass(frozen=True)
class Ranked:
    """One question's answer: each hit's turns (recall by items), and the turns in ranked order (by turns)."""

    items: list[list[str]]
    turns: list[str]


def hit_turns(hit: dict[str, Any], covered: dict[str, list[str]]) -> list[str]:
    """The LoCoMo turns a hit answers with, best first: its own; a summary's, the originals listed under it (those
    that ranked, else its best by words); a summary listing none, every turn whose sentence it still says.
    ``covered``: per summary, the turns whose sentence it still says (``summary_coverage``)."""
    dia_id = hit.get("metadata", {}).get("dia_id")
    if dia_id:
        return [dia_id]
    listed = [t for original in hit.get("originals", []) for t in original_turns(original, covered)]
    return listed or covered.get(hit["id"], [])


def original_turns(original: dict[str, Any], covered: dict[str, list[str]]) -> list[str]:
    """An original's turn; a summary consolidated again is listed as itself: the turns whose sentence it says."""
    dia_id = original["metadata"].get("dia_id")
    return [dia_id] if dia_id else covered.get(original["id"], [])


def turns_by_place(hits: Sequence[dict[str, Any]], covered: dict[str, list[str]]) -> list[str]:
    """The turns in the order the search ranked them, before it folded archived originals into their summaries.

    Each listed original says the place it ranked at, and a summary shown with ranked originals stands where the
    first of them ranked (memory.retrieval.through_summaries). Any other hit stands at the first place after the
    hit before it that no original took (its exact place is not in the answer; a summary's own words, left to its
    originals, may have taken one more). So a summary's later originals count at their own places, not pulled up
    to the summary's."""
    placed: list[tuple[int, list[str]]] = []
    taken: set[int] = set()
    before = 0  # the place of the hit before
    for hit in hits:
        listed = hit.get("originals", [])
        ranked = [o for o in listed if o.get("rank") is not None]
        if ranked:
            for original in ranked:
                placed.append((original["rank"], original_turns(original, covered)))
                taken.add(original["rank"])
            before = ranked[0]["rank"]
            continue
        place = before + 1
        while place in taken:
            place += 1
        placed.append((place, hit_turns(hit, covered)))
        taken.add(place)
        before = place
    return list(dict.fromkeys(t for _, turns in sorted(placed, key=lambda p: p[0]) for t in turns))


def ranked_items(client: httpx.Client, asked: Asked, app_id: str, covered: dict[str, list[str]]) -> Ranked:
    body = {
        "query": asked.question.question,
        "user_id": asked.question.sample_id,
        "app_id": app_id,
        "top_k": K,
        "use_cache": False,
        "reference_time": asked.reference_time,
    }
    response = client.post("/v1/memories/search", json=body)
    response.raise_for_status()
    hits = response.json()["results"]
    return Ranked([hit_turns(hit, covered) for hit in hits], turns_by_place(hits, covered))


def recall(evidence: dict[QuestionKey, Sequence[str]], rankings: dict[QuestionKey, Ranked]) -> dict[str, float]:
    by_items, by_turns = [], []
    for key, wanted in evidence.items():
        if key not in rankings:
            continue
        items = rankings[key].items[:K]
        by_items.append(len(set(wanted) & set().union(*items)) / len(wanted))
        turns = rankings[key].turns[:K]
        by_turns.append(len(set(wanted) & set(turns)) / len(wanted))
    return {
        "questions": len(by_items),
        f"R@{K}_items": round(sum(by_items) / len(by_items), 4),
        f"R@{K}_turns": round(sum(by_turns) / len(by_turns), 4),
    }


def interleaved(plan: Sequence[Asked]) -> list[Asked]:
    """The plan's questions, one user after another (the first question of each user, then the second, ...)."""
    by_user: dict[str, list[Asked]] = {}
    for asked in plan:
        by_user.setdefault(asked.question.sample_id, []).append(asked)
    rounds = itertools.zip_longest(*by_user.values())
    return [asked for round_ in rounds for asked in round_ if asked is not None]


def tick_all(settings: Settings, conversations: Sequence[Conversation], app_id: str) -> str:
    codec, producer = Codec(), SyncProducer(make_producer(settings))
    messages = []
    for conversation in conversations:
        scope = Scope(app_id, conversation.sample_id)
        command = tick_command(scope, conversation.last_session_at + timedelta(days=1), component=COMPONENT)
        messages.append((settings.topics.commands, scope.key.encode(), codec.encode(command)))
    # Signed with the API's own key (same data dir or MEMSTREAM_TOKEN_SECRET): the API only honours its tokens.
    return encode_token(producer.produce_all(messages), token_key(settings))


def wait_applied(client: httpx.Client, token: str, app_id: str, users: Sequence[str]) -> None:
    deadline = time.monotonic() + 900
    for user in users:
        while True:
            response = client.get(
                "/v1/memories", params={"user_id": user, "app_id": app_id, "limit": 1, "consistency_token": token}
            )
            if response.status_code == 200:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the consolidation was not applied in time: {response.text}")


class SearchWatch(threading.Thread):
    """Searches the users' questions one after another while the consolidation runs: how many came back empty
    (the issue's complaint: a consolidating user's searches returned nothing for minutes) or failed."""

    def __init__(self, base_url: str, settings: Settings, app_id: str, plan: Sequence[Asked]):
        super().__init__(daemon=True)
        self.base_url, self.settings, self.app_id, self.plan = base_url, settings, app_id, plan
        self.stop = threading.Event()
        self.counts = {"searches": 0, "empty": 0, "failed": 0}

    def run(self) -> None:
        with api_client(self.settings, self.base_url, self.app_id, timeout=120) as client:
            for asked in itertools.cycle(self.plan):
                if self.stop.is_set():
                    return
                body = {
                    "query": asked.question.question,
                    "user_id": asked.question.sample_id,
                    "app_id": self.app_id,
                    "top_k": K,
                    "use_cache": False,
                }
                response = client.post("/v1/memories/search", json=body)
                self.counts["searches"] += 1
                if response.status_code != 200:
                    self.counts["failed"] += 1
                elif not response.json()["results"]:
                    self.counts["empty"] += 1


def measure(
    client: httpx.Client,
    plan: Sequence[Asked],
    app_id: str,
    covered: dict[str, list[str]],
    evidence: dict[str, dict[QuestionKey, Sequence[str]]],
) -> dict[str, Any]:
    rankings = {asked.question.key: ranked_items(client, asked, app_id, covered) for asked in plan}
    return {name: recall(ids, rankings) for name, ids in evidence.items()}


def remeasure(
    settings: Settings,
    app_id: str,
    plan: Sequence[Asked],
    evidence: dict[str, dict[QuestionKey, Sequence[str]]],
    counter: TokenCounter,
) -> None:
    """The consolidated namespace's figures again, with only the API running (no worker: nothing changes)."""
    with running_api(settings, None, ("api",)) as system:
        assert system is not None
        with api_client(settings, system.base_url, app_id, timeout=120) as client:
            kept_now = kept(settings.postgres_dsn, app_id, counter)
            recall_now = measure(client, plan, app_id, summary_coverage(settings.postgres_dsn, app_id), evidence)
    print(f"consolidated: {kept_now}\n  recall: {recall_now}", flush=True)
    body = {"benchmark": "lifecycle", "app_id": app_id, **kept_now, "recall": recall_now}
    path = write_results("lifecycle_remeasured", body)
    print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--audit", default=DEFAULT_AUDIT)
    parser.add_argument("--conversations", type=int)
    parser.add_argument("--app-id", default="locomo-lifecycle")
    parser.add_argument("--port", type=int, default=API_PORT)
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="only search again what an earlier run consolidated under --app-id (after a change to the search)",
    )
    args = parser.parse_args(argv)
    args.infer, args.api, args.skip_ingest = True, None, False
    conversations = load_conversations(args.data)[: args.conversations]
    original, audited, _ = evidence_sets(args, conversations)
    evidence: dict[str, dict[QuestionKey, Sequence[str]]] = {
        "original": dict(original.evidence),
        "audited": dict(audited.evidence),
    }
    plan = search_plan(conversations, (original, audited), None)
    events = [turn_event(t, args.app_id, COMPONENT, infer=True) for c in conversations for t in c.turns]
    users = [c.sample_id for c in conversations]
    settings = namespace_settings(load_settings(), args.app_id, api_port=args.port)
    ensure_topics(settings)
    counter = TokenCounter()
    if args.remeasure:
        remeasure(settings, args.app_id, plan, evidence, counter)
        return
    with running_api(settings, None, ("streams", "projections", "api")) as system:
        assert system is not None
        report = ingest(args, settings, system, events, expected_count(args, settings, events))
        print(f"ingest: {report}", flush=True)
        with api_client(settings, system.base_url, args.app_id, timeout=120) as client:
            before = kept(settings.postgres_dsn, args.app_id, counter)
            print(f"consolidation off: {before}", flush=True)
            recall_off = measure(client, plan, args.app_id, {}, evidence)
            print(f"  recall: {recall_off}", flush=True)
            started = time.perf_counter()
            # One question per user in turn, so every consolidating user is searched throughout.
            watch = SearchWatch(system.base_url, settings, args.app_id, interleaved(plan))
            watch.start()
            wait_applied(client, tick_all(settings, conversations, args.app_id), args.app_id, users)
            consolidated_s = round(time.perf_counter() - started, 1)
            watch.stop.set()
            watch.join()
            print(f"  searches during the consolidation: {watch.counts}", flush=True)
            after = kept(settings.postgres_dsn, args.app_id, counter)
            print(f"consolidation on ({consolidated_s} s): {after}", flush=True)
            recall_on = measure(
                client, plan, args.app_id, summary_coverage(settings.postgres_dsn, args.app_id), evidence
            )
            print(f"  recall: {recall_on}", flush=True)
    shrink = round(1 - after["active_tokens"] / max(before["active_tokens"], 1), 4)
    body = {
        "benchmark": "lifecycle",
        "settings": {
            "app_id": args.app_id,
            "conversations": len(conversations),
            "turns": len(events),
            "consolidation_age_days": settings.consolidation_age_days,
            "consolidation_token_budget": settings.consolidation_token_budget,
            "k": K,
        },
        "ingest": report,
        "off": {**before, "recall": recall_off},
        "on": {**after, "recall": recall_on, "consolidation_s": consolidated_s, "searches_during": watch.counts},
        "active_token_shrink": shrink,
    }
    path = write_results("lifecycle", body)
    print(f"active tokens shrink by {shrink:.1%}; wrote {path}")


if __name__ == "__main__":
    main()
