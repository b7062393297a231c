"""Time-scoped questions through the running system (``memory/retrieval/time_scope.py``): a question about a date,
a span or a session answers from that time only; a time and a topic lean on the window's hits; the recent
conversation (``messages``) carries a time to "can you summarize what we discussed?"; ``POST /v1/context`` gives
a session's memories in the order they were said within the budget; another user's sessions never resolve; bad
``messages`` are refused with a 400 naming the problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from memstream_client import Memstream

from tests.e2e.conftest import RunningSystem
from tests.support import unique, wait_until

pytestmark = pytest.mark.e2e

ASKED = "2026-05-22T12:00:00Z"  # a Friday; every session below lies before it, days apart (inferred sessions)
# Four sessions of one conversation: (occurred_at, what was said), each turn its own request a minute apart,
# except the move's last two turns, sent together (same occurred_at: the log orders them).
SESSIONS: list[list[tuple[str, tuple[str, ...]]]] = [
    [  # 1: Friday May 1
        ("2026-05-01T10:00:00Z", ("I adopted a puppy named Rex.",)),
        ("2026-05-01T10:01:00Z", ("Rex is a beagle and loves the park near the river.",)),
    ],
    [  # 2: Friday May 8
        ("2026-05-08T10:00:00Z", ("We are planning a move to Lisbon in September.",)),
        ("2026-05-08T10:01:00Z", ("I found an apartment in Alfama with a balcony.",)),
        ("2026-05-08T10:02:00Z", ("The movers quoted three thousand euros.", "Shall I compare other movers?")),
    ],
    [  # 3: Friday May 15
        ("2026-05-15T18:00:00Z", ("Rex chewed my new running shoes.",)),
        ("2026-05-15T18:01:00Z", ("I started training for the Porto half marathon.",)),
    ],
    [  # 4: Wednesday May 20
        ("2026-05-20T08:00:00Z", ("My sister Ana visits in June.",)),
        ("2026-05-20T08:01:00Z", ("We will cook bacalhau together with her kids.",)),
    ],
]
SAID = [text for session in SESSIONS for _, texts in session for text in texts]


def texts_of(session: int) -> list[str]:
    return [text for _, texts in SESSIONS[session - 1] for text in texts]


@dataclass(frozen=True)
class Users:
    owner: str  # the four sessions above
    other: str  # one later session of their own: never what the owner's "last session" means


def add(client: httpx.Client, system: RunningSystem, user: str, chat: str, at: str, texts: tuple[str, ...]) -> str:
    messages = [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(texts)]
    body = {"user_id": user, "app_id": system.app_id, "conversation_id": chat, "messages": messages, "infer": False}
    answer = client.post("/v1/memories", json={**body, "occurred_at": at})
    assert answer.status_code == 202, answer.text
    token: str = answer.json()["consistency_token"]
    return token


def post(client: httpx.Client, system: RunningSystem, path: str, user: str, **body: Any) -> httpx.Response:
    payload = {"user_id": user, "app_id": system.app_id, "reference_time": ASKED, "use_cache": False, **body}
    if path == "/v1/context":
        payload.pop("use_cache")
    return client.post(path, json=payload)


def search(client: httpx.Client, system: RunningSystem, user: str, query: str, **body: Any) -> dict[str, Any]:
    answer = post(client, system, "/v1/memories/search", user, query=query, **body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def said(hit: dict[str, Any]) -> str:
    """The text a memory was made from (a memory without extraction is the turn, perhaps with its speaker)."""
    text: str = hit["memory"]
    return text.split(": ", 1)[1] if text.split(": ", 1)[0] in ("User", "Assistant", "user", "assistant") else text


def hit_texts(found: dict[str, Any]) -> list[str]:
    return [said(hit) for hit in found["results"]]


@pytest.fixture(scope="module")
def users(system: RunningSystem) -> Users:
    owner, other = unique("scoped-"), unique("scoped-other-")
    with system.client() as client:
        chat = unique("chat-")
        for session in SESSIONS:
            for at, texts in session:
                add(client, system, owner, chat, at, texts)
        add(client, system, other, unique("chat-"), "2026-05-21T09:00:00Z", ("I bought a red kayak.",))
        token = add(client, system, other, unique("chat-"), "2026-05-21T09:05:00Z", ("It fits two people.",))
        last = add(client, system, owner, chat, "2026-05-20T08:02:00Z", ("Ana loves the beach at Cascais.",))
        for user, wait in ((other, token), (owner, last)):
            wait_until(lambda: searchable(client, system, user, wait), timeout=90, what="searchable")  # noqa: B023
    return Users(owner, other)


def searchable(client: httpx.Client, system: RunningSystem, user: str, token: str) -> bool:
    """The write behind ``token`` is applied (a worker that just started may answer 503 to the first waits)."""
    return post(client, system, "/v1/memories/search", user, query="anything", consistency_token=token).is_success


SESSION_4 = [*texts_of(4), "Ana loves the beach at Cascais."]


def test_a_date_answers_from_that_day_only_most_informative_first(system: RunningSystem, users: Users) -> None:
    with system.client() as client:
        found = search(client, system, users.owner, "What did we discuss on May 8th?")
    assert sorted(hit_texts(found)) == sorted(texts_of(2))
    scope = found["time_scope"]
    assert (scope["kind"], scope["source"], scope["expression"]) == ("time", "query", "May 8th")
    # The assistant's question says least: it comes last.
    assert hit_texts(found)[-1] == "Shall I compare other movers?"
    # said_order: the same hits, as they were said (the two turns of one request by their place in the log).
    by_id = {hit["id"]: said(hit) for hit in found["results"]}
    assert [by_id[i] for i in scope["said_order"]] == texts_of(2)


@pytest.mark.parametrize(
    ("question", "session"),
    [
        ("Can you summarize our last session?", 4),
        ("what did we talk about in the session before last?", 3),
        ("What did we talk about in our first session?", 1),
        ("what came up two sessions ago", 3),
    ],
)
def test_a_session_named_answers_from_that_session(
    system: RunningSystem, users: Users, question: str, session: int
) -> None:
    with system.client() as client:
        found = search(client, system, users.owner, question)
    expected = SESSION_4 if session == 4 else texts_of(session)
    assert sorted(hit_texts(found)) == sorted(expected), question
    assert found["time_scope"]["kind"] == "time"


def test_sessions_one_through_three_and_a_span(system: RunningSystem, users: Users) -> None:
    with system.client() as client:
        sessions = search(client, system, users.owner, "summarize sessions 1 through 3", top_k=20)
        span = search(client, system, users.owner, "What did we talk about between May 7th and May 16th?", top_k=20)
    assert sorted(hit_texts(sessions)) == sorted(texts_of(1) + texts_of(2) + texts_of(3))
    assert sorted(hit_texts(span)) == sorted(texts_of(2) + texts_of(3))
    assert span["time_range"]["start"].startswith("2026-05-07") and span["time_range"]["end"].startswith("2026-05-17")


def test_a_time_and_a_topic_lean_on_the_window(system: RunningSystem, users: Users) -> None:
    with system.client() as client:
        found = search(client, system, users.owner, "What did I say about Rex last Friday?")
    texts = hit_texts(found)
    assert found["time_scope"]["kind"] == "time_and_topic"
    assert texts[0] == "Rex chewed my new running shoes."
    # A lean, not a filter: Rex's first session, said outside the window, is still answered (the
    # order between the window and the rest is checked in tests/unit/test_time_scope.py).
    assert set(texts_of(1)) <= set(texts)


def test_the_recent_conversation_carries_the_time_to_the_question(system: RunningSystem, users: Users) -> None:
    messages = [
        {"role": "user", "content": "On May 8th we talked about my move, right?"},
        {"role": "assistant", "content": "Yes, we did."},
        {"role": "user", "content": "Can you summarize what we discussed?"},
    ]
    with system.client() as client:
        carried = search(client, system, users.owner, "Can you summarize what we discussed?", messages=messages)
        alone = search(client, system, users.owner, "Can you summarize what we discussed?")
        about_rex = search(client, system, users.owner, "What breed is my dog Rex?", messages=messages)
    assert sorted(hit_texts(carried)) == sorted(texts_of(2))
    assert carried["time_scope"]["source"] == "messages"
    assert alone["time_scope"] is None and sorted(hit_texts(alone)) != sorted(texts_of(2))  # nothing scoped it
    # A question about a topic of its own is not scoped by a time said earlier.
    assert about_rex["time_scope"] is None and hit_texts(about_rex)[0] in texts_of(1)


def test_the_python_sdk_sends_messages_and_reads_the_time_scope(system: RunningSystem, users: Users) -> None:
    messages = [{"role": "user", "content": "Our first session was fun."}, {"role": "user", "content": "Recap?"}]
    with Memstream(base_url=system.system.base_url, api_key=system.admin_key) as sdk:
        found = sdk.search(
            "Recap?", user_id=users.owner, app_id=system.app_id, reference_time=ASKED, messages=messages
        )
        context = sdk.get_context(
            "Recap?", user_id=users.owner, app_id=system.app_id, reference_time=ASKED, messages=messages
        )
    assert found.time_scope is not None and (found.time_scope.kind, found.time_scope.source) == ("time", "messages")
    assert sorted(said({"memory": hit.memory}) for hit in found) == sorted(texts_of(1))
    assert context.memory_ids == found.time_scope.said_order  # both memories fit: as said


def test_context_gives_the_session_in_the_order_it_was_said_within_the_budget(
    system: RunningSystem, users: Users
) -> None:
    question = {"query": "What did we discuss on May 8th?"}
    with system.client() as client:
        whole = post(client, system, "/v1/context", users.owner, max_tokens=500, **question)
        tight = post(client, system, "/v1/context", users.owner, max_tokens=40, **question)
    assert whole.status_code == 200 and tight.status_code == 200, (whole.text, tight.text)
    full, cut = whole.json(), tight.json()
    positions = [full["context"].index(text) for text in texts_of(2)]
    assert positions == sorted(positions) and len(full["memory_ids"]) == 4
    assert cut["token_count"] <= 40 and 1 <= len(cut["memory_ids"]) < 4 and cut["omitted"] >= 1
    kept = [text for text in texts_of(2) if text in cut["context"]]
    assert [cut["context"].index(text) for text in kept] == sorted(cut["context"].index(text) for text in kept)
    assert "Shall I compare" not in cut["context"]  # the least informative is the one left out


def test_another_users_sessions_never_resolve(system: RunningSystem, users: Users) -> None:
    with system.client() as client:
        owner = search(client, system, users.owner, "Can you summarize our last session?")
        other = search(client, system, users.other, "What did we talk about in our first session?")
        beyond = search(client, system, users.other, "What did we talk about 3 sessions ago?")
    # The other user's session (May 21) is later than the owner's last one: it is not the owner's last session.
    assert owner["time_scope"]["start"].startswith("2026-05-20") and "I bought a red kayak." not in hit_texts(owner)
    assert hit_texts(other) == ["I bought a red kayak."]  # their first of two sessions (two conversations)
    # A third session back does not exist for them: nothing, and nothing of the owner's.
    assert beyond["results"] == []


@pytest.mark.parametrize(
    ("messages", "named"),
    [
        ([{"role": "robot", "content": "hi"}], "role"),
        ([{"role": "user", "content": ""}], "content"),
        ([{"role": "user", "content": "   "}], "messages[0].content"),
        ([{"role": "user", "content": "x" * 2001}], "content"),
        ([{"role": "user"}], "content"),
        ([{"role": "user", "content": "hi", "name": "ann"}], "name"),
        ([{"role": "user", "content": "a\x00b"}], "content"),
        ([{"role": "user", "content": "hi"}] * 51, "messages"),
        ("not a list", "messages"),
    ],
)
def test_bad_messages_are_refused_with_a_message(
    system: RunningSystem, users: Users, messages: Any, named: str
) -> None:
    with system.client() as client:
        for path in ("/v1/memories/search", "/v1/context"):
            extra = {"max_tokens": 100} if path == "/v1/context" else {}
            answer = post(client, system, path, users.owner, query="what did we discuss?", messages=messages, **extra)
            assert answer.status_code == 400, (path, answer.text)
            assert named in answer.text, (path, answer.text)
