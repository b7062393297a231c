"""Hybrid search, the hot cache, access records and the context endpoint through the running system."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.conftest import RunningSystem
from tests.support import unique, wait_until

LIFE = [
    ("2026-01-10T09:00:00Z", "I live in Lisbon with my partner Joao."),
    ("2026-02-03T09:00:00Z", "I had a long meeting with Sarah about the Apollo roadmap."),
    ("2026-02-04T09:00:00Z", "Sarah works at Lumen Labs."),
    ("2026-02-18T09:00:00Z", "I went hiking in the Alps with Tom."),
]


def add(client: httpx.Client, system: RunningSystem, user: str, text: str, **extra: Any) -> str:
    response = client.post(
        "/v1/memories", json={"user_id": user, "app_id": system.app_id, "text": text, "infer": False, **extra}
    )
    assert response.status_code == 202, response.text
    token: str = response.json()["consistency_token"]
    return token


def search(client: httpx.Client, system: RunningSystem, user: str, **body: Any) -> httpx.Response:
    return client.post("/v1/memories/search", json={"user_id": user, "app_id": system.app_id, **body})


@pytest.fixture(scope="module")
def user(system: RunningSystem) -> str:
    name = unique("life-")
    with system.client() as client:
        token = ""
        for when, text in LIFE:
            token = add(client, system, name, text, occurred_at=when)
        # Read-your-writes: the last write's token waits until every projection applied it (one partition).
        # A worker that just started may need longer than one wait (503 + Retry-After): ask again, as clients do.
        wait_until(
            lambda: search(client, system, name, query="anything", consistency_token=token, use_cache=False).is_success,
            timeout=90,
            what="the life to be searchable",
        )
    return name


def test_every_recipe_answers_and_says_which_retrievers_found_each_hit(system: RunningSystem, user: str) -> None:
    with system.client() as client:
        hybrid = search(
            client, system, user, query="What did I do last week with Tom?", reference_time="2026-03-01T12:00:00Z"
        )
        assert hybrid.status_code == 200, hybrid.text
        body = hybrid.json()
        assert body["recipe"] == "hybrid" and "hiking" in body["results"][0]["memory"]
        assert {"dense", "temporal"} <= set(body["results"][0]["retrievers"])
        assert body["time_range"]["start"].startswith("2026-02-16")
        graph = search(client, system, user, query="Who is Sarah?", recipe="graph").json()
        assert graph["results"] and all(set(h["retrievers"]) == {"graph"} for h in graph["results"])
        assert all("Sarah" in h["memory"] or "Lumen" in h["memory"] for h in graph["results"][:2])


def test_repeats_hit_the_cache_and_a_write_is_never_served_stale(system: RunningSystem, user: str) -> None:
    query = {"query": "where do I live", "top_k": 5}
    with system.client() as client:
        first = search(client, system, user, **query).json()
        second = search(client, system, user, **query).json()
        assert not first["cache_hit"] and second["cache_hit"]
        assert [h["id"] for h in second["results"]] == [h["id"] for h in first["results"]]
        token = add(client, system, user, "I moved to Porto, I live by the river now.")

        # Once the write is visible anywhere, no search may return the cached list without it.
        def fresh() -> dict[str, Any] | None:
            found: dict[str, Any] = search(client, system, user, **query).json()
            return found if any("Porto" in h["memory"] for h in found["results"]) else None

        third = search(client, system, user, **query, consistency_token=token).json()
        assert any("Porto" in h["memory"] for h in third["results"]) and not third["cache_hit"]
        assert wait_until(fresh, timeout=10, what="the new memory")


def test_searches_record_accesses_without_waiting(system: RunningSystem, user: str) -> None:
    with system.client() as client:
        hits = search(client, system, user, query="Apollo roadmap meeting", top_k=1, use_cache=False).json()["results"]
    memory_id = hits[0]["id"]

    def accesses() -> int:
        with psycopg.connect(system.settings.postgres_dsn) as conn:
            row = conn.execute("SELECT access_count FROM memories WHERE memory_id = %s", (memory_id,)).fetchone()
        return int(row[0]) if row else 0

    assert wait_until(accesses, timeout=20, what="the access to be projected") >= 1


def test_context_fits_the_budget_most_relevant_first(system: RunningSystem, user: str) -> None:
    with system.client() as client:
        response = client.post(
            "/v1/context",
            json={"query": "Tell me about Sarah", "user_id": user, "app_id": system.app_id, "max_tokens": 40},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["context"].startswith("<user_memories>\n") and body["context"].endswith("\n</user_memories>")
    assert 0 < body["token_count"] <= 40 and body["memory_ids"]
    assert "Sarah" in body["context"].splitlines()[1]


def test_a_memory_longer_than_the_budget_is_cut_to_fit(system: RunningSystem) -> None:
    lonely = unique("long-")
    with system.client() as client:
        token = add(
            client, system, lonely, "My travel diary: " + " ".join(f"day {i} was sunny in Madeira." for i in range(200))
        )
        response = client.post(
            "/v1/context",
            json={
                "query": "travel diary",
                "user_id": lonely,
                "app_id": system.app_id,
                "max_tokens": 32,
                "consistency_token": token,
            },
        )
    body = response.json()
    assert response.status_code == 200, body
    assert body["token_count"] <= 32 and len(body["memory_ids"]) == 1
    assert body["context"].endswith("…\n</user_memories>")


@pytest.mark.parametrize(
    ("path", "payload", "message"),
    [
        ("/v1/memories/search", {"query": ""}, "query is empty"),
        ("/v1/memories/search", {"query": "x", "recipe": "magic"}, "unknown recipe 'magic'"),
        ("/v1/memories/search", {"query": "x", "top_k": -1}, "top_k must be between 1 and 100"),
        ("/v1/memories/search", {"query": "x", "top_k": 100_000}, "top_k must be between 1 and 100"),
        ("/v1/memories/search", {"query": "x", "filters": {"states": ["gone"]}}, "unknown state"),
        ("/v1/memories/search", {"query": "x", "colour": "red"}, "colour"),
        ("/v1/context", {"query": "x", "max_tokens": 5}, "max_tokens must be between 16 and 32000"),
        ("/v1/context", {"query": "x", "max_tokens": 10_000_000}, "max_tokens must be between 16 and 32000"),
        ("/v1/context", {"query": "x"}, "max_tokens"),
    ],
)
def test_bad_requests_get_a_4xx_that_says_why(
    system: RunningSystem, path: str, payload: dict[str, Any], message: str
) -> None:
    with system.client() as client:
        response = client.post(path, json={"user_id": "someone", **payload})
    assert response.status_code == 400, response.text
    assert message in response.text
