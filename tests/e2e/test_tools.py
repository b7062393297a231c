"""The memory tools and the conversation log's search through the running system: the schemas a model is
given, each tool called as an OpenAI model calls it (arguments as a JSON string), paging, date ranges, bad
arguments named in a 422, and tenancy (another user's conversation never appears)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.gateway.principal import Scope as KeyScope
from tests.e2e.conftest import RunningSystem
from tests.e2e.tenants import written
from tests.support import issue_key, unique, wait_until

pytestmark = pytest.mark.e2e


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    """The body for a model's tool call: ``arguments`` as the JSON text the model emitted."""
    return {"arguments": json.dumps(arguments)}


def call(client: httpx.Client, user: str, name: str, **arguments: Any) -> httpx.Response:
    return client.post(f"/v1/tools/{name}", json={**tool_call(name, **arguments), "user_id": user})


@dataclass
class Conversation:
    """Alice's turns over three days (and a turn of another agent), and Bob's, who says the same words."""

    alice: str
    bob: str
    token: str


TURNS = [
    # (day, time, role, speaker, text, agent)
    ("2026-03-01", "09:00:00", "user", "Alice", "My sister Maria is moving to Lisbon in June.", "helper"),
    ("2026-03-01", "09:00:05", "assistant", None, "Lisbon in June sounds lovely for Maria.", "helper"),
    ("2026-03-02", "23:30:00", "user", "Alice", "I booked a flight to Lisbon to help Maria move.", "helper"),
    ("2026-03-03", "08:00:00", "user", "Alice", "The flight to Lisbon leaves at dawn.", "planner"),
]


@pytest.fixture(scope="module")
def conversation(system: RunningSystem) -> Conversation:
    alice, bob = unique("alice-"), unique("bob-")
    token = ""
    with system.client() as client:
        for day, time, role, speaker, text, agent in TURNS:
            message: dict[str, Any] = {"role": role, "content": text}
            if speaker:
                message["name"] = speaker
            response = client.post(
                "/v1/memories",
                json={
                    "user_id": alice,
                    "agent_id": agent,
                    "messages": [message],
                    "conversation_id": "trip",
                    "occurred_at": f"{day}T{time}Z",
                },
            )
            assert response.status_code == 202, response.text
        response = client.post(
            "/v1/memories",
            json={"user_id": bob, "text": "I fly to Lisbon to see Maria too.", "occurred_at": "2026-03-02T10:00:00Z"},
        )
        assert response.status_code == 202, response.text
        token = response.json()["consistency_token"]
        # A tool's insert is archival memory, not conversation: the conversation search never returns it.
        inserted = call(client, alice, "archival_memory_insert", content="Maria's Lisbon address is Rua Augusta 5.")
        assert inserted.status_code == 200, inserted.text
        token = inserted.json()["consistency_token"]
        # The turns topic is one log: the last write's token covers every turn written before it.
        wait_until(
            lambda: (
                client.post(
                    "/v1/conversations/search", json={"user_id": alice, "query": "Lisbon", "consistency_token": token}
                ).status_code
                == 200
            ),
            timeout=120,
            what="the conversation to be projected",
        )
    return Conversation(alice, bob, token)


def search(client: httpx.Client, user: str, **body: Any) -> httpx.Response:
    return client.post("/v1/conversations/search", json={"user_id": user, **body})


# --- the schemas ---------------------------------------------------------------------------------------------


def test_the_tools_are_listed_as_openai_function_tools(system: RunningSystem) -> None:
    with system.client() as client:
        response = client.get("/v1/tools")
    assert response.status_code == 200, response.text
    tools = response.json()["tools"]
    assert [t["function"]["name"] for t in tools] == [
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
    ]
    for tool in tools:
        assert tool["type"] == "function" and len(tool["function"]["description"]) > 80
        parameters = tool["function"]["parameters"]
        assert parameters["type"] == "object" and parameters["additionalProperties"] is False
        assert set(parameters["required"]) <= set(parameters["properties"])
        assert "query" in parameters["required"] or parameters["required"] in (
            ["content"],
            ["label", "content"],
            ["label", "old", "new"],
        )


def test_listing_the_tools_needs_the_read_scope(system: RunningSystem) -> None:
    write_only = issue_key(system.settings, system.app_id, scopes=[KeyScope.WRITE])
    with system.client(write_only) as client:
        response = client.get("/v1/tools")
    assert response.status_code == 403, response.text
    assert "memories:read" in response.json()["detail"]


# --- archival memory ------------------------------------------------------------------------------------------


def test_archival_insert_stores_the_text_as_a_memory_without_inference(system: RunningSystem) -> None:
    user = unique("u-")
    content = "Anna's birthday is on 14 May; she likes orchids."
    with system.client() as client:
        before = written(system.settings)
        response = call(client, user, "archival_memory_insert", content=content)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "archival_memory_insert" and body["consistency_token"]
        assert "archival memory" in body["text"] and len(body["data"]["event_ids"]) == 1
        assert written(system.settings) == before + 1
        listed = client.get("/v1/memories", params={"user_id": user, "consistency_token": body["consistency_token"]})
        assert listed.status_code == 200, listed.text
        (memory,) = listed.json()["results"]
    assert memory["memory"] == content  # verbatim: no extraction rewrote it
    assert memory["metadata"]["memstream_tool"] == "archival_memory_insert"


def test_archival_search_pages_by_five_with_ids_and_dates(system: RunningSystem) -> None:
    user = unique("u-")
    facts = [f"Garden note {n}: the tomatoes in bed {n} need water." for n in range(7)]
    with system.client() as client:
        token = ""
        for fact in facts:
            response = call(client, user, "archival_memory_insert", content=fact)
            assert response.status_code == 200, response.text
            token = response.json()["consistency_token"]
        wait_until(
            lambda: (
                len(client.get("/v1/memories", params={"user_id": user, "consistency_token": token}).json()["results"])
                == 7
            ),
            timeout=120,
            what="seven memories",
        )
        # Searchable once embedded and active: the search is asked until it sees all seven.
        pages: list[dict[str, Any]] = []

        def both_pages() -> bool:
            pages[:] = [
                call(client, user, "archival_memory_search", query="tomatoes water", page=p).json() for p in (0, 1)
            ]
            return sum(len(p["data"]["results"]) for p in pages) == 7

        wait_until(both_pages, timeout=120, what="all seven memories to be searchable")
        past = call(client, user, "archival_memory_search", query="tomatoes water", page=2).json()
    first, second = pages
    assert len(first["data"]["results"]) == 5 and first["data"]["more"] is True
    assert len(second["data"]["results"]) == 2 and second["data"]["more"] is False
    ids = [r["id"] for p in pages for r in p["data"]["results"]]
    assert len(set(ids)) == 7 and {r["memory"] for p in pages for r in p["data"]["results"]} == set(facts)
    for hit in first["data"]["results"]:
        assert f"[id {hit['id']}, {hit['valid_from'][:10]}] {hit['memory']}" in first["text"]
    assert "page 1" in first["text"] and first["consistency_token"] is None
    assert second["text"].splitlines()[1].startswith("6. ")  # numbered across pages
    assert past["data"]["results"] == [] and "past the last result" in past["text"]


@pytest.mark.parametrize(
    ("name", "arguments", "named"),
    [
        ("archival_memory_search", '{"query": "bees", "page": 20}', "page"),
        ("archival_memory_search", '{"query": "bees", "page": "1"}', "$.page"),
        ("archival_memory_search", '{"page": 0}', "query"),
        ("archival_memory_search", '{"query": "bees", "limit": 3}', "limit"),
        ("archival_memory_search", '{"query": "bees"', "not valid JSON"),
        ("archival_memory_search", '["bees"]', "JSON object"),
        ("archival_memory_search", '{"query": "   "}', "query"),
        ("archival_memory_insert", '{"content": ""}', "content"),
        ("archival_memory_insert", '{"text": "I keep bees."}', "text"),
        ("conversation_search", '{"query": "Lisbon", "start_date": "last week"}', "start_date"),
        ("conversation_search", '{"query": "Lisbon", "start_date": "2026-03-05", "end_date": "2026-03-01"}', "after"),
    ],
)
def test_bad_arguments_are_422_naming_the_argument(
    system: RunningSystem, name: str, arguments: str, named: str
) -> None:
    before = written(system.settings)
    with system.client() as client:
        response = client.post(f"/v1/tools/{name}", json={"arguments": arguments, "user_id": unique("u-")})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"bad arguments for {name}: ") and named in detail, detail
    assert written(system.settings) == before


def test_an_unknown_tool_is_404_listing_the_tools(system: RunningSystem) -> None:
    with system.client() as client:
        response = call(client, unique("u-"), "send_email", to="x")
    assert response.status_code == 404, response.text
    assert "no tool named 'send_email'" in response.json()["detail"] and "archival_memory_search" in response.text


def test_a_retried_insert_with_its_key_stores_once(system: RunningSystem) -> None:
    user, headers = unique("u-"), {"Idempotency-Key": str(uuid.uuid4())}
    body = {**tool_call("archival_memory_insert", content="The spare key is under the blue pot."), "user_id": user}
    with system.client() as client:
        first = client.post("/v1/tools/archival_memory_insert", json=body, headers=headers)
        again = client.post("/v1/tools/archival_memory_insert", json=body, headers=headers)
        assert first.status_code == again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
        listed = client.get(
            "/v1/memories", params={"user_id": user, "consistency_token": first.json()["consistency_token"]}
        )
    assert len(listed.json()["results"]) == 1


# --- the conversation log --------------------------------------------------------------------------------------


def test_conversation_search_finds_turns_with_speaker_role_and_time(
    system: RunningSystem, conversation: Conversation
) -> None:
    with system.client() as client:
        response = search(client, conversation.alice, query="Lisbon flight")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 4 and (body["page"], body["page_size"]) == (0, 10)
    texts = [r["text"] for r in body["results"]]
    assert set(texts) == {t[4] for t in TURNS}  # Alice's four turns; not Bob's, not the archival insert
    # Best first: the two turns naming both words before those naming one, newest first among equals.
    assert texts[:2] == [TURNS[3][4], TURNS[2][4]]
    ranks = [r["rank"] for r in body["results"]]
    assert ranks == sorted(ranks, reverse=True)
    first = body["results"][0]
    assert (first["role"], first["speaker"], first["occurred_at"]) == ("user", "Alice", "2026-03-03T08:00:00Z")
    assert first["conversation_id"] == "trip" and first["turn_id"]
    reply = next(r for r in body["results"] if r["role"] == "assistant")
    assert reply["speaker"] is None


def test_conversation_search_by_dates_includes_the_whole_end_day(
    system: RunningSystem, conversation: Conversation
) -> None:
    def texts(**window: str) -> list[str]:
        with system.client() as client:
            response = search(client, conversation.alice, query="Lisbon", **window)
        assert response.status_code == 200, response.text
        return sorted(r["text"] for r in response.json()["results"])

    # 2026-03-02T23:30Z is within the day 2026-03-02.
    assert texts(start_date="2026-03-02", end_date="2026-03-02") == [TURNS[2][4]]
    assert texts(end_date="2026-03-01") == sorted([TURNS[0][4], TURNS[1][4]])
    assert texts(start_date="2026-03-02T23:30:00Z", end_date="2026-03-03T08:00:00Z") == sorted(
        [TURNS[2][4], TURNS[3][4]]
    )
    # An offset is read as the moment it names: 09:00:05+01:00 is 08:00:05Z, after the last turn began.
    assert texts(start_date="2026-03-03T09:00:05+01:00") == []


def test_conversation_search_pages(system: RunningSystem, conversation: Conversation) -> None:
    with system.client() as client:
        pages = [search(client, conversation.alice, query="Lisbon", page=p, page_size=3).json() for p in (0, 1, 2)]
    assert [len(p["results"]) for p in pages] == [3, 1, 0] and {p["total"] for p in pages} == {4}
    assert len({r["turn_id"] for p in pages for r in p["results"]}) == 4


def test_conversation_search_narrows_to_an_agent(system: RunningSystem, conversation: Conversation) -> None:
    with system.client() as client:
        response = search(client, conversation.alice, query="Lisbon", agent_id="planner")
    assert [r["text"] for r in response.json()["results"]] == [TURNS[3][4]]


def test_the_conversation_search_tool_lists_speaker_time_and_text(
    system: RunningSystem, conversation: Conversation
) -> None:
    with system.client() as client:
        first = call(client, conversation.alice, "conversation_search", query="Maria", end_date="2026-03-02")
        second = call(client, conversation.alice, "conversation_search", query="Lisbon", page=0)
    assert first.status_code == 200, first.text
    text = first.json()["text"]
    assert "[2026-03-01 09:00 UTC] user (Alice): My sister Maria is moving to Lisbon in June." in text
    assert "[2026-03-02 23:30 UTC] user (Alice): I booked a flight to Lisbon to help Maria move." in text
    assert "[2026-03-01 09:00 UTC] assistant: Lisbon in June sounds lovely for Maria." in text
    assert first.json()["data"]["total"] == 3 and first.json()["consistency_token"] is None
    # Five a page: all four fit, so no next page is offered.
    assert second.json()["data"]["page_size"] == 5 and "More follow" not in second.json()["text"]


def test_another_users_conversation_never_appears(system: RunningSystem, conversation: Conversation) -> None:
    alices_key = issue_key(
        system.settings, system.app_id, scopes=[KeyScope.READ, KeyScope.WRITE], user_id=conversation.alice
    )
    with system.client(alices_key) as client:
        own = search(client, conversation.alice, query="Maria Lisbon")
        left_out = client.post("/v1/conversations/search", json={"query": "Maria Lisbon"})
        bobs = search(client, conversation.bob, query="Maria Lisbon")
        by_tool = client.post(
            "/v1/tools/conversation_search",
            json={**tool_call("conversation_search", query="Maria Lisbon"), "user_id": conversation.bob},
        )
    assert own.status_code == left_out.status_code == 200, left_out.text
    assert own.json() == left_out.json()  # the key's own user, named or not
    assert "fly to Lisbon to see Maria too" not in own.text
    assert bobs.status_code == by_tool.status_code == 403, bobs.text
    assert "not this credential's user" in bobs.json()["detail"]
    with system.client() as client:  # the app's admin reaches Bob: his turn is there, and only his
        bob = search(client, conversation.bob, query="Maria Lisbon").json()
    assert [r["text"] for r in bob["results"]] == ["I fly to Lisbon to see Maria too."]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"query": "Lisbon", "start_date": "2026-02-30"}, "start_date"),
        ({"query": "Lisbon", "end_date": "2026-03-01T09:00:00"}, "end_date"),  # no time zone
        ({"query": "Lisbon", "start_date": "2026-03-03", "end_date": "2026-03-01"}, "after end_date"),
        ({"query": "Lisbon", "page_size": 51}, "page_size"),
        ({"query": "Lisbon", "page": -1}, "page"),
        ({"query": " "}, "query"),
        ({"query": "Lisbon", "limit": 3}, "limit"),
    ],
)
def test_bad_conversation_searches_are_400_naming_the_field(
    system: RunningSystem, body: dict[str, Any], named: str
) -> None:
    with system.client() as client:
        response = search(client, unique("u-"), **body)
    assert response.status_code == 400, response.text
    assert named in response.text
