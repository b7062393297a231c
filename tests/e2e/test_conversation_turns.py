"""``GET /v1/conversations/{conversation_id}/turns`` (one conversation's turns in the order said, the read a chat
history needs) and the ``metadata`` filter of ``GET /v1/memories`` (how the LangGraph store finds an item by key),
over real HTTP against the running system. Who may call them is in tests/e2e/test_tenancy.py.
"""

from __future__ import annotations

import json

import httpx

from tests.e2e.conftest import RunningSystem
from tests.support import unique


def add(client: httpx.Client, **body: object) -> str:
    response = client.post("/v1/memories", json=body)
    assert response.status_code == 202, response.text
    token: str = response.json()["consistency_token"]
    return token


def test_turns_come_back_in_the_order_said_paged(system: RunningSystem) -> None:
    user, conversation = unique("turns-"), unique("conv-")
    with system.client() as client:
        # Twelve messages in one request: they share a time, so the API's turn numbers order them (10 after 9).
        first = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"line {i}"} for i in range(12)]
        add(client, user_id=user, conversation_id=conversation, messages=first, infer=False)
        token = add(
            client,
            user_id=user,
            conversation_id=conversation,
            messages=[{"role": "tool", "content": "line 12", "name": "Calculator"}],
            metadata={"tool_call_id": "call-7"},
            infer=False,
        )
        # The token makes the read wait for both writes: no polling.
        answer = client.get(
            f"/v1/conversations/{conversation}/turns", params={"user_id": user, "consistency_token": token}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] == 13 and (body["limit"], body["offset"]) == (100, 0)
        assert [t["text"] for t in body["results"]] == [f"line {i}" for i in range(13)]
        last = body["results"][-1]
        assert (last["role"], last["speaker"], last["metadata"]) == ("tool", "Calculator", {"tool_call_id": "call-7"})
        assert all(t["conversation_id"] == conversation for t in body["results"])

        page = client.get(f"/v1/conversations/{conversation}/turns", params={"user_id": user, "limit": 5, "offset": 10})
        assert [t["text"] for t in page.json()["results"]] == ["line 10", "line 11", "line 12"]
        assert page.json()["total"] == 13


def test_other_conversations_users_and_tool_turns_are_not_in_it(system: RunningSystem) -> None:
    user, other, conversation = unique("turns-a-"), unique("turns-b-"), unique("conv-")
    with system.client() as client:
        add(client, user_id=user, conversation_id=conversation, text="mine", infer=False)
        add(client, user_id=user, conversation_id=unique("conv-"), text="another conversation", infer=False)
        add(client, user_id=other, conversation_id=conversation, text="the other user's", infer=False)
        # A memory tool's text is memory, not conversation (it is filed under "default" like any add without one).
        inserted = client.post(
            "/v1/tools/archival_memory_insert", json={"user_id": user, "arguments": {"content": "tool text"}}
        )
        assert inserted.status_code == 200, inserted.text
        token = add(client, user_id=user, text="said in default", infer=False)

        mine = client.get(
            f"/v1/conversations/{conversation}/turns", params={"user_id": user, "consistency_token": token}
        )
        assert [t["text"] for t in mine.json()["results"]] == ["mine"]
        default = client.get("/v1/conversations/default/turns", params={"user_id": user, "consistency_token": token})
        assert [t["text"] for t in default.json()["results"]] == ["said in default"]
        unknown = client.get(f"/v1/conversations/{unique('never-')}/turns", params={"user_id": user})
        assert unknown.status_code == 200 and unknown.json() == {"results": [], "total": 0, "limit": 100, "offset": 0}


def test_bad_turns_requests_are_400_naming_the_problem(system: RunningSystem) -> None:
    with system.client() as client:
        for params, named in (
            ({"user_id": "u", "limit": 0}, "limit"),
            ({"user_id": "u", "limit": 501}, "limit"),
            ({"user_id": "u", "offset": -1}, "offset"),
            ({"user_id": "u", "consistency_token": "not-a-token"}, "token"),
            ({}, "user_id"),  # an app-wide key must name the user
        ):
            answer = client.get("/v1/conversations/c1/turns", params=params)
            assert answer.status_code == 400, (params, answer.text)
            assert named in answer.text, (params, answer.text)
        spaced = client.get("/v1/conversations/two%20words/turns", params={"user_id": "u"})
        assert spaced.status_code == 400 and "conversation_id" in spaced.text


def test_list_memories_by_metadata(system: RunningSystem) -> None:
    user = unique("meta-")
    with system.client() as client:
        add(client, user_id=user, text="I like jazz", infer=False, metadata={"topic": "music", "source": "chat"})
        add(client, user_id=user, text="I like hiking", infer=False, metadata={"topic": "outdoors"})
        token = add(client, user_id=user, text="I like opera", infer=False, metadata={"topic": "music"})
        states = ["extracted", "stored", "active"]

        def listed(metadata: dict[str, str]) -> list[str]:
            params = {"user_id": user, "metadata": json.dumps(metadata), "consistency_token": token, "state": states}
            answer = client.get("/v1/memories", params=params)
            assert answer.status_code == 200, answer.text
            return sorted(m["memory"] for m in answer.json()["results"])

        assert listed({"topic": "music"}) == ["I like jazz", "I like opera"]
        assert listed({"topic": "music", "source": "chat"}) == ["I like jazz"]
        assert listed({"topic": "cooking"}) == []
        assert listed({}) == ["I like hiking", "I like jazz", "I like opera"]

        for bad, said in (
            ("not json", "JSON object"),
            ('["a"]', "JSON object"),
            ('{"topic": 3}', "strings"),
            (json.dumps({f"k{i}": "v" for i in range(5)}), "at most 4"),
            (json.dumps({"k" * 65: "v"}), "at most 64"),
            (json.dumps({"k": "v" * 129}), "at most 128"),
            (json.dumps({"k": "bell\u0007"}), "metadata"),
        ):
            answer = client.get("/v1/memories", params={"user_id": user, "metadata": bad})
            assert answer.status_code == 400 and said in answer.json()["detail"], (bad, answer.text)
