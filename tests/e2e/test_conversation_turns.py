"""``GET /v1/conversations/{conversation_id}/turns`` (one conversation's turns in the order said, the read chat
histories and agent sessions need) and the ``metadata`` filter of ``GET /v1/memories`` (how the LangGraph store
finds an item by key), over real HTTP against the running system: the order across requests and within one past
ten messages, the last N, paging, the agent filter, another user's conversation of the same id never read, tool
turns left out, and bad parameters refused with a 400. Who may call the route is in tests/e2e/test_tenancy.py.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from memstream_client import Memstream

from api.gateway.principal import Scope as KeyScope
from tests.e2e.conftest import RunningSystem
from tests.support import bearer, issue_key, unique

pytestmark = pytest.mark.e2e

def add(client: httpx.Client, **body: object) -> str:
    """One POST /v1/memories; its consistency token."""
    response = client.post("/v1/memories", json=body)
    assert response.status_code == 202, response.text
    token: str = response.json()["consistency_token"]
    return token


def add_messages(client: httpx.Client, user: str, conversation: str, *texts: str, **more: Any) -> str:
    """Write ``texts`` as one request's messages (alternating user and assistant); its consistency token."""
    messages = [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(texts)]
    body = {"user_id": user, "conversation_id": conversation, "messages": messages, "infer": False, **more}
    answer = client.post("/v1/memories", json=body)
    assert answer.status_code == 202, answer.text
    token: str = answer.json()["consistency_token"]
    return token


def turns(client: httpx.Client, conversation: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/conversations/{conversation}/turns", params=params)
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()["results"]
    return listed


def texts(listed: list[dict[str, Any]]) -> list[str]:
    return [turn["text"] for turn in listed]


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


def test_turns_across_requests_and_the_last_n(system: RunningSystem) -> None:
    user, chat = unique("turns-"), unique("chat-")
    many = [f"line {i}" for i in range(12)]  # 12 in one request: "…:10" must come after "…:9"
    with system.client() as client:
        add_messages(client, user, chat, "first", "second", metadata={"source": "test"})
        token = add_messages(client, user, chat, *many)
        listed = turns(client, chat, user_id=user, consistency_token=token)

        assert texts(listed) == ["first", "second", *many]
        assert [t["role"] for t in listed[:3]] == ["user", "assistant", "user"]
        assert listed[0]["metadata"] == {"source": "test"} and listed[0]["conversation_id"] == chat
        assert listed[0]["turn_id"] and listed[0]["occurred_at"]

        # The last N: newest first, limited; and pages oldest first.
        assert texts(turns(client, chat, user_id=user, newest_first="true", limit=3)) == [
            "line 11",
            "line 10",
            "line 9",
        ]
        assert texts(turns(client, chat, user_id=user, limit=5, offset=10)) == many[8:13]
        assert turns(client, unique("never-"), user_id=user) == []


def test_the_agent_filter_and_another_users_conversation(system: RunningSystem) -> None:
    alice, bob, chat = unique("alice-"), unique("bob-"), unique("chat-")
    with system.client() as client:
        add_messages(client, alice, chat, "alice with the planner", agent_id="planner")
        add_messages(client, alice, chat, "alice with the writer", agent_id="writer")
        token = add_messages(client, bob, chat, "bob's words")
        client.get("/v1/memories", params={"user_id": bob, "consistency_token": token, "limit": 1})

        assert texts(turns(client, chat, user_id=alice)) == ["alice with the planner", "alice with the writer"]
        assert texts(turns(client, chat, user_id=alice, agent_id="writer")) == ["alice with the writer"]
        assert texts(turns(client, chat, user_id=bob)) == ["bob's words"]

    # A key bound to bob reads bob's conversation of that id, and is refused alice's.
    bobs_key = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), user_id=bob)
    with httpx.Client(base_url=system.system.base_url, headers=bearer(bobs_key), timeout=30) as as_bob:
        assert texts(turns(as_bob, chat)) == ["bob's words"]
        refused = as_bob.get(f"/v1/conversations/{chat}/turns", params={"user_id": alice})
        assert refused.status_code == 403
    # A write-only key may not read.
    writer_key = issue_key(system.settings, system.app_id, scopes=(KeyScope.WRITE,), user_id=bob)
    with httpx.Client(base_url=system.system.base_url, headers=bearer(writer_key), timeout=30) as writer:
        assert writer.get(f"/v1/conversations/{chat}/turns").status_code == 403


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/conversations/c/turns", {"user_id": "u", "limit": 0}, "limit"),
        ("/v1/conversations/c/turns", {"user_id": "u", "limit": 1001}, "limit"),
        ("/v1/conversations/c/turns", {"user_id": "u", "offset": -1}, "offset"),
        ("/v1/conversations/c/turns", {"user_id": "u", "newest_first": "sometimes"}, "newest_first"),
        ("/v1/conversations/c%20d/turns", {"user_id": "u"}, "conversation_id"),
        ("/v1/conversations/c/turns", {"user_id": "u", "consistency_token": "nonsense"}, "token"),
        ("/v1/conversations/c/turns", {}, "user_id"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(
    system: RunningSystem, path: str, params: dict[str, Any], named: str
) -> None:
    with system.client() as client:
        answer = client.get(path, params=params)
    assert answer.status_code == 400, answer.text
    assert named in answer.text


def test_the_python_sdk_reads_a_conversation_in_order(system: RunningSystem) -> None:
    user, chat = unique("sdk-turns-"), unique("chat-")
    with Memstream(api_key=system.admin_key, base_url=system.system.base_url, read_your_writes=True) as sdk:
        sdk.add(
            [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}],
            user_id=user,
            conversation_id=chat,
            infer=False,
            metadata={"kind": "chat"},
        )
        sdk.add("three", user_id=user, conversation_id=chat, infer=False)
        page = sdk.conversation_turns(chat, user_id=user)
        assert [(t.role, t.text) for t in page] == [("user", "one"), ("assistant", "two"), ("user", "three")]
        assert page.results[0].metadata == {"kind": "chat"} and page.results[2].metadata == {}
        assert [t.text for t in sdk.conversation_turns(chat, user_id=user, newest_first=True, limit=2)] == [
            "three",
            "two",
        ]
        assert len(sdk.conversation_turns(chat, user_id=user, offset=3)) == 0
