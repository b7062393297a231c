"""Same question, same answer (issue 18, point 6): the same conversation, said by two users, ranks the same.

Each user says the same multi-session conversation through the API, each session one request whose turns
share its ``occurred_at`` (so only the log tells them apart), with repeated short turns and topics that come
back across sessions, where scores tie. Memory ids, turn ids and event ids differ between the two users (the
API draws them at random); rankings must not: ties are broken by when a memory was said, valid time then log
position (memory.retrieval.said_order). Compared through hybrid search (texts and scores, in order) and
``POST /v1/context`` (the whole block).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningSystem
from tests.support import unique, wait_until

# (occurred_at, infer, turns): the extractor leaves small talk out; a verbatim session keeps every turn.
SESSIONS = [
    (
        "2026-04-20T18:00:00Z",
        True,
        [
            ("Alice", "I adopted a dog named Max last spring."),
            ("Bot", "That's lovely! What kind of dog is Max?"),
            ("Alice", "Max is a beagle and he loves the beach."),
            ("Bot", "Sounds good."),
            ("Alice", "Thanks!"),
            ("Alice", "My sister Nora lives in Porto."),
        ],
    ),
    (
        "2026-04-27T18:00:00Z",
        False,
        [
            ("Alice", "I started pottery classes on Tuesdays."),
            ("Bot", "Sounds good."),
            ("Alice", "Thanks!"),
            ("Alice", "Nora works as a nurse at the hospital in Porto."),
            ("Alice", "We went hiking with Max in the Alps."),
            ("Bot", "Sounds good, enjoy the Alps."),
            ("Alice", "Max loved the Alps."),
        ],
    ),
    (
        "2026-05-04T18:00:00Z",
        True,
        [
            ("Alice", "Max chewed my pottery from the class."),
            ("Alice", "Thanks!"),
            ("Bot", "Sounds good."),
            ("Alice", "Nora visited us and we took Max to the beach."),
            ("Alice", "I am planning another hiking trip in June."),
            ("Bot", "Sounds good."),
        ],
    ),
    (
        "2026-05-05T09:00:00Z",
        False,
        [
            ("Alice", "Max has a vet appointment on Friday."),
            ("Bot", "Noted, the vet on Friday."),
            ("Alice", "Nora might come to the vet with us."),
            ("Alice", "Thanks!"),
            ("Bot", "Sounds good."),
        ],
    ),
]
REFERENCE = "2026-05-06T12:00:00Z"
QUESTIONS = [
    "What is the name of my dog?",
    "Where does Nora live and what does she do?",
    "What did we talk about last week?",
    "Tell me about pottery",
    "Where did we go hiking?",
    "sounds good",
    "thanks",
    "What did Alice say about the beach?",
    "What did we discuss recently?",
    "When is the vet appointment?",
    "Who is coming to the vet?",
]


def say(client: httpx.Client, system: RunningSystem, user: str) -> str:
    token = ""
    for when, infer, turns in SESSIONS:
        messages = [
            {"role": "assistant" if name == "Bot" else "user", "name": name, "content": text} for name, text in turns
        ]
        response = client.post(
            "/v1/memories",
            json={
                "user_id": user,
                "app_id": system.app_id,
                "conversation_id": "chat",
                "occurred_at": when,
                "infer": infer,
                "messages": messages,
            },
        )
        assert response.status_code == 202, response.text
        token = response.json()["consistency_token"]
    return token


def stored(client: httpx.Client, system: RunningSystem, user: str, token: str | None = None) -> list[tuple[Any, ...]]:
    """Everything the user's memories are, ids aside: what the ranking may depend on."""
    states = ["extracted", "stored", "active", "decaying", "archived"]
    params: dict[str, Any] = {"user_id": user, "app_id": system.app_id, "state": states, "limit": 500}
    params.update(include_superseded=True, **({"consistency_token": token} if token else {}))
    response = client.get("/v1/memories", params=params)
    if response.status_code != 200:  # 503 while the token's write is not yet everywhere
        return []
    memories = response.json()["results"]
    return sorted((m["memory"], m["state"], m["importance"], m["valid_from"], m["valid_to"]) for m in memories)


@pytest.fixture(scope="module")
def users(system: RunningSystem) -> tuple[str, str]:
    first, second = unique("same-a-"), unique("same-b-")
    with system.client() as client:
        tokens = {user: say(client, system, user) for user in (first, second)}
        # The token waits for the writes and what they caused in every projection; then both users must hold the
        # same memories (text, state, importance, times) before their rankings can be compared.
        for user, token in tokens.items():
            wait_until(lambda u=user, t=token: stored(client, system, u, t), timeout=120, what=f"{user}'s memories")

        def alike() -> list[tuple[Any, ...]] | None:
            mine = stored(client, system, first)
            return mine if mine and mine == stored(client, system, second) else None

        held = wait_until(alike, timeout=60, what="both users to hold the same memories")
    # Repeats of an earlier "Thanks!" reinforce it and stay stored (not searchable); the rest is active.
    assert sum(state == "active" for _, state, *_ in held) >= 15
    assert {state for _, state, *_ in held} == {"active", "stored"}
    return first, second


def ranking(client: httpx.Client, system: RunningSystem, user: str, query: str) -> list[tuple[str, float]]:
    body = {
        "user_id": user,
        "app_id": system.app_id,
        "query": query,
        "top_k": 10,
        "reference_time": REFERENCE,
        "use_cache": False,
    }
    response = client.post("/v1/memories/search", json=body)
    assert response.status_code == 200, response.text
    return [(hit["memory"], hit["score"]) for hit in response.json()["results"]]


def context(client: httpx.Client, system: RunningSystem, user: str, query: str) -> dict[str, Any]:
    body = {"user_id": user, "app_id": system.app_id, "query": query, "max_tokens": 300, "reference_time": REFERENCE}
    response = client.post("/v1/context", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_hybrid_search_ranks_the_same_conversation_the_same_for_two_users(
    system: RunningSystem, users: tuple[str, str]
) -> None:
    first, second = users
    with system.client() as client:
        for query in QUESTIONS:
            mine, theirs = ranking(client, system, first, query), ranking(client, system, second, query)
            assert mine, query
            assert mine == theirs, query


def test_the_context_block_is_the_same_for_two_users(system: RunningSystem, users: tuple[str, str]) -> None:
    first, second = users
    with system.client() as client:
        for query in QUESTIONS:
            mine, theirs = context(client, system, first, query), context(client, system, second, query)
            assert mine["memory_ids"], query
            assert mine["context"] == theirs["context"], query
            assert (mine["token_count"], mine["omitted"]) == (theirs["token_count"], theirs["omitted"]), query
