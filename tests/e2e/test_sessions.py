"""Sessions through the running system (``GET /v1/sessions``; ``memory/conversations/sessions.py`` says what a
session is): explicit sessions as the producer named them, inferred ones from the pauses between turns (late turns
that renumber and merge them), another user's never listed, a bad ``session_id`` refused with a 400 naming it, the
Python SDK's call, and a replay rebuild giving the same sessions. Which credential may call the route is checked
with every other route in tests/e2e/test_tenancy.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg
import pytest
from memstream_client import Memstream

from projections.targets import active_targets, settings_for_target
from replay.verify import verify
from tests.e2e.conftest import RunningSystem
from tests.support import unique

pytestmark = pytest.mark.e2e

DAY = "2026-05-08"


def add(client: httpx.Client, user: str, conversation: str, at: str, *texts: str, session: str | None = None) -> str:
    """One POST /v1/memories with ``texts`` as messages said at ``at`` (HH:MM on DAY, UTC); its consistency token."""
    messages = [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(texts)]
    body: dict[str, Any] = {
        "user_id": user,
        "conversation_id": conversation,
        "messages": messages,
        "infer": False,
        "occurred_at": at if "T" in at else f"{DAY}T{at}:00Z",
    }
    if session is not None:
        body["session_id"] = session
    answer = client.post("/v1/memories", json=body)
    assert answer.status_code == 202, answer.text
    token: str = answer.json()["consistency_token"]
    return token


def sessions(client: httpx.Client, user: str, token: str = "", **params: Any) -> dict[str, Any]:
    answer = client.get("/v1/sessions", params={"user_id": user, "consistency_token": token, **params})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def spans(body: dict[str, Any]) -> list[tuple[int, str, str, int]]:
    """(number, start HH:MM, end HH:MM, turn count) of each listed session."""
    return [(s["number"], s["started_at"][11:16], s["ended_at"][11:16], s["turn_count"]) for s in body["results"]]


def test_explicit_sessions_are_the_producers_whatever_the_pauses_numbered_by_start(system: RunningSystem) -> None:
    user, chat = unique("sessions-"), unique("chat-")
    with system.client() as client:
        add(client, user, chat, "09:00", "Let us plan the Lisbon trip.", "Sure, which dates?", session="planning")
        add(client, user, chat, "15:00", "Flights are booked.", session="planning")  # six hours on: same session
        add(client, user, chat, "2026-05-09T09:00:00Z", "How did the planning go?", session="retro")
        # Said before everything, sent last: it becomes session 1 and the others move down.
        token = add(client, user, chat, "2026-05-07T20:00:00Z", "Should we travel at all?", session="kickoff")
        body = sessions(client, user, token, conversation_id=chat)
    listed = body["results"]
    assert [(s["number"], s["session_id"], s["explicit"], s["turn_count"]) for s in listed] == [
        (1, "kickoff", True, 1),
        (2, "planning", True, 3),
        (3, "retro", True, 1),
    ]
    planning = listed[1]
    assert (planning["started_at"], planning["ended_at"]) == (f"{DAY}T09:00:00Z", f"{DAY}T15:00:00Z")
    assert {(s["app_id"], s["user_id"], s["conversation_id"]) for s in listed} == {(system.app_id, user, chat)}
    assert (body["total"], body["limit"], body["offset"]) == (3, 100, 0)


def test_inferred_sessions_follow_the_pauses_and_late_turns_renumber_then_merge_them(system: RunningSystem) -> None:
    user, chat = unique("sessions-"), unique("chat-")
    with system.client() as client:
        add(client, user, chat, "09:00", "Good morning, I need a packing list.", "Of course, for where?")
        add(client, user, chat, "09:20", "For Lisbon, five days.")  # 20 minutes on: the same sitting
        add(client, user, chat, "11:00", "I forgot sunscreen.")  # 100 minutes on: a new one
        token = add(client, user, chat, "14:00", "Is the list final?")
        assert spans(sessions(client, user, token, conversation_id=chat)) == [
            (1, "09:00", "09:20", 3),
            (2, "11:00", "11:00", 1),
            (3, "14:00", "14:00", 1),
        ]
        # Late, and more than 30 minutes from both neighbours: a session of its own; the ones after it move down.
        token = add(client, user, chat, "10:05", "Add a hat too.")
        body = sessions(client, user, token, conversation_id=chat)
        assert spans(body) == [
            (1, "09:00", "09:20", 3),
            (2, "10:05", "10:05", 1),
            (3, "11:00", "11:00", 1),
            (4, "14:00", "14:00", 1),
        ]
        assert all(s["session_id"] is None and not s["explicit"] for s in body["results"])
        # Two more late turns close every pause between 09:20 and 11:00 to at most 30 minutes: one sitting.
        add(client, user, chat, "09:45", "And a swimsuit.")
        token = add(client, user, chat, "10:30", "And a charger.")
        assert spans(sessions(client, user, token, conversation_id=chat)) == [
            (1, "09:00", "11:00", 7),
            (2, "14:00", "14:00", 1),
        ]
        # Another conversation of the same user is numbered on its own; without a filter both are listed.
        other = f"{chat}-other"
        token = add(client, user, other, "12:00", "A different topic entirely.")
        everything = sessions(client, user, token)
        assert [(s["conversation_id"], s["number"]) for s in everything["results"]] == [
            (chat, 1),
            (chat, 2),
            (other, 1),
        ]
        assert everything["total"] == 3
        page = sessions(client, user, limit=1, offset=1)
        assert [(s["conversation_id"], s["number"]) for s in page["results"]] == [(chat, 2)] and page["total"] == 3

    with Memstream(base_url=system.system.base_url, api_key=system.admin_key) as sdk:
        typed = sdk.sessions(user_id=user, app_id=system.app_id, conversation_id=chat)
    assert [(s.number, s.turn_count, s.explicit, s.session_id) for s in typed] == [
        (1, 7, False, None),
        (2, 1, False, None),
    ]
    assert typed.results[0].started_at.isoformat() == f"{DAY}T09:00:00+00:00"


def test_another_users_sessions_are_never_listed(system: RunningSystem) -> None:
    alice, bob, chat = unique("alice-"), unique("bob-"), "shared-name"
    with system.client() as client:
        add(client, alice, chat, "09:00", "Alice speaking.")
        add(client, bob, chat, "09:00", "Bob speaking.", session="bobs")
        token = add(client, bob, chat, "18:00", "Bob again.")
        bobs = sessions(client, bob, token, conversation_id=chat)
        alices = sessions(client, alice, token, conversation_id=chat)
        nobody = sessions(client, unique("nobody-"), token)
    assert [(s["user_id"], s["session_id"], s["turn_count"]) for s in bobs["results"]] == [
        (bob, "bobs", 1),
        (bob, None, 1),
    ]
    assert [(s["user_id"], s["turn_count"]) for s in alices["results"]] == [(alice, 1)]
    assert nobody == {"results": [], "total": 0, "limit": 100, "offset": 0}


@pytest.mark.parametrize("bad", ["two words", "", "line\n", "x" * 201])
def test_a_session_id_breaking_the_id_rule_is_a_400_naming_it(system: RunningSystem, bad: str) -> None:
    with system.client() as client:
        written = client.post("/v1/memories", json={"user_id": "u", "text": "Hello.", "session_id": bad})
        listed = client.get("/v1/sessions", params={"user_id": "u", "conversation_id": bad or " "})
    # The answer names the field and the rule it breaks (the detail says validation failed, the extra where).
    assert written.status_code == 400, written.text
    assert "session_id" in json.dumps(written.json())
    assert listed.status_code == 400, listed.text
    assert "conversation_id" in json.dumps(listed.json())


def test_a_rebuild_from_the_log_gives_the_same_sessions(system: RunningSystem) -> None:
    """Last in this module: the rebuild switches the system's PostgreSQL reads to the rebuilt target."""
    user, chat = unique("sessions-"), unique("chat-")
    with system.client() as client:
        # Out of order in occurred_at, one request at a time, as the live projector saw them.
        for at in ("14:00", "09:00", "11:00", "09:20", "10:05", "09:45", "10:30"):
            add(client, user, chat, at, f"Turn said at {at}.")
        token = add(client, user, chat, "12:00", "Explicit.", session="s-1")
        live = sessions(client, user, token)
    assert spans(live) == [(1, "09:00", "11:00", 6), (2, "12:00", "12:00", 1), (3, "14:00", "14:00", 1)]

    target = unique("sessions").replace("-", "_")
    result = system.cli("replay", "rebuild", "--projection", "postgres", "--target", target, "--switch")
    assert result.returncode == 0, result.stderr
    assert active_targets(system.settings.postgres_dsn)["postgres"] == target
    # Every PostgreSQL row of the two targets alike, conversation_sessions included (keyed session/...).
    differences = verify(system.settings, "live", target, ("postgres",))
    assert differences and all(d.equal for d in differences), differences
    with psycopg.connect(settings_for_target(system.settings, target).postgres_dsn) as conn:
        rebuilt = conn.execute("SELECT count(*) FROM conversation_sessions WHERE user_id = %s", (user,)).fetchone()
    assert rebuilt == (3,)
    with system.client() as client:
        assert sessions(client, user) == live  # now read from the rebuilt target
