"""``GET /v1/memories`` filters on the server: kind, text, pinned, a valid-time range, superseded and ended states.

A real running system (worker, projectors, API) on the local stack: the memories are written through the API and
the pipeline, pinned and forgotten through the API, and every filter is read back through the list. Each bad value
is a 400 naming the parameter, and a filter never reaches another user's memories.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from memstream_client import AsyncMemstream, Memstream

from api.gateway.principal import Scope as KeyScope
from tests.e2e.conftest import RunningSystem
from tests.support import issue_key, unique

pytestmark = pytest.mark.e2e

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
NOTES = ("Booked the Lisbon flight", "Renewed the passport", "Ordered a LISBON guidebook", "Planted tomatoes")


class Written:
    """One user's notes (a day apart), the second pinned; a conversation in which Paris is superseded by Berlin;
    and another user whose note says Lisbon too."""

    def __init__(self, system: RunningSystem) -> None:
        self.user, self.other = unique("lister-"), unique("other-")
        with system.client() as client:
            token = ""
            for day, text in enumerate(NOTES):
                token = accepted(client.post("/v1/memories", json=self.note(text, START + timedelta(days=day))))
            accepted(client.post("/v1/memories", json={**self.note("Lisbon in May", START), "user_id": self.other}))
            self.ids = {m["memory"]: m["id"] for m in self.listed(client, consistency_token=token, limit=50)}
            assert set(self.ids) == set(NOTES), self.ids
            pin = {"user_id": self.user, "pinned": True}
            token = accepted(client.put(f"/v1/memories/{self.ids[NOTES[1]]}", json=pin))
            token = accepted(client.delete(f"/v1/memories/{self.ids[NOTES[3]]}", params={"user_id": self.user}))
            self.listed(client, consistency_token=token)
            for day, said in ((20, "I live in Paris."), (30, "I moved to Berlin.")):
                token = accepted(client.post("/v1/memories", json=self.turn(said, START + timedelta(days=day))))
            self.listed(client, consistency_token=token)

    def note(self, text: str, when: datetime) -> dict[str, Any]:
        return {"user_id": self.user, "text": text, "infer": False, "occurred_at": when.isoformat()}

    def turn(self, said: str, when: datetime) -> dict[str, Any]:
        message = {"role": "user", "content": said, "name": "Lee"}
        return {
            "user_id": self.user,
            "conversation_id": "moves",
            "occurred_at": when.isoformat(),
            "messages": [message],
        }

    def listed(self, client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
        response = client.get("/v1/memories", params={"user_id": self.user, **params})
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def texts(self, client: httpx.Client, **params: Any) -> set[str]:
        return {m["memory"] for m in self.listed(client, **params)}


def accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    token: str = response.json()["consistency_token"]
    return token


@pytest.fixture(scope="module")
def written(system: RunningSystem) -> Written:
    return Written(system)


def mentions(texts: Iterable[str], word: str) -> bool:
    return any(word in t for t in texts)


def test_text_contains_ignores_case_and_stays_with_the_user(system: RunningSystem, written: Written) -> None:
    with system.client() as client:
        assert written.texts(client, q="lisbon") == {NOTES[0], NOTES[2]}  # "Lisbon" and "LISBON", not the other user's
        assert written.texts(client, q="50%") == set()  # plain text: '%' is no wildcard
        page = client.get("/v1/memories", params={"user_id": written.user, "q": "lisbon", "limit": 1}).json()
        assert page["total"] == 2 and len(page["results"]) == 1  # the count is the filtered list's, for paging


def test_pinned(system: RunningSystem, written: Written) -> None:
    with system.client() as client:
        (pinned,) = written.listed(client, pinned="true")
        assert pinned["memory"] == NOTES[1] and pinned["pinned"] is True
        assert NOTES[1] not in written.texts(client, pinned="false")
        assert NOTES[0] in written.texts(client, pinned="false")


def test_kind(system: RunningSystem, written: Written) -> None:
    with system.client() as client:
        by_kind: dict[str, set[str]] = {}
        for memory in written.listed(client, limit=50):
            by_kind.setdefault(memory["kind"], set()).add(memory["memory"])
        assert by_kind, "nothing listed"
        for kind, texts in by_kind.items():
            assert written.texts(client, kind=kind, limit=50) == texts, kind
        assert written.listed(client, kind="no-such-kind") == []


def test_a_valid_time_range(system: RunningSystem, written: Written) -> None:
    with system.client() as client:
        second, third = (START + timedelta(days=n) for n in (1, 2))
        window = {"occurred_after": second.isoformat(), "occurred_before": third.isoformat()}
        assert written.texts(client, **window) == {NOTES[1]}  # after inclusive, before exclusive
        assert written.texts(client, occurred_before=second.isoformat()) == {NOTES[0]}


def test_superseded_and_ended_memories_are_asked_for(system: RunningSystem, written: Written) -> None:
    with system.client() as client:
        now = written.texts(client)
        assert mentions(now, "Berlin") and not mentions(now, "Paris"), now  # Paris was superseded
        assert NOTES[3] not in now  # forgotten
        with_superseded = written.listed(client, include_superseded="true", q="paris")
        assert with_superseded and all(m["valid_to"] for m in with_superseded), with_superseded
        # Forgetting deletes a memory's text everywhere (only a tombstone stays): not even state=forgotten lists it.
        assert NOTES[3] not in written.texts(client, state="forgotten", include_superseded="true")
        archived = written.texts(client, state=["active", "archived"], include_superseded="true", limit=50)
        assert NOTES[0] in archived and mentions(archived, "Paris"), archived


def test_filters_never_reach_another_user(system: RunningSystem, written: Written) -> None:
    own_key = issue_key(system.settings, system.app_id, name="lister", user_id=written.user, scopes=[KeyScope.READ])
    with system.client(own_key) as client:
        mine = client.get("/v1/memories", params={"q": "lisbon"})
        assert mine.status_code == 200 and {m["user_id"] for m in mine.json()["results"]} == {written.user}
        theirs = client.get("/v1/memories", params={"user_id": written.other, "q": "lisbon"})
        assert theirs.status_code == 403, theirs.text


@pytest.mark.parametrize(
    ("param", "value", "named"),
    [
        ("kind", "two words", "kind"),
        ("q", "", "q"),
        ("q", "nul\x00", "q"),
        ("q", "x" * 201, "q"),
        ("pinned", "maybe", "pinned"),
        ("include_superseded", "sometimes", "include_superseded"),
        ("occurred_after", "yesterday", "occurred_after"),
        ("occurred_after", "2026-01-01T00:00:00", "occurred_after"),  # no time zone: never read as UTC
        ("occurred_before", "0001-01-01T00:00:00Z", "occurred_before"),
        ("state", "superseded", "state"),  # superseded is no state: include_superseded asks for those
    ],
)
def test_a_bad_filter_is_a_400_naming_it(
    system: RunningSystem, written: Written, param: str, value: str, named: str
) -> None:
    with system.client() as client:
        response = client.get("/v1/memories", params={"user_id": written.user, param: value})
    assert response.status_code == 400, response.text
    assert named in response.json()["detail"], response.text


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%C3"])
def test_text_that_is_no_utf8_is_never_a_500(system: RunningSystem, written: Written, raw: str) -> None:
    with system.client() as client:
        response = client.get(f"/v1/memories?user_id={written.user}&q={raw}")
    assert response.status_code in (200, 400), response.text


async def test_the_python_sdk_sends_every_filter(system: RunningSystem, written: Written) -> None:
    second, third = (START + timedelta(days=n) for n in (1, 2))
    filters: dict[str, Any] = {
        "user_id": written.user,
        "text_contains": "PASSPORT",
        "pinned": True,
        "kind": None,
        "occurred_after": second,  # a datetime, sent as ISO 8601
        "occurred_before": third.isoformat(),
    }
    with Memstream(api_key=system.admin_key, base_url=system.system.base_url) as client:
        page = client.get_all(**filters)
        assert [m.memory for m in page.results] == [NOTES[1]] and page.results[0].pinned
        assert client.get_all(user_id=written.user, pinned=False, text_contains="passport").results == []
        superseded = client.get_all(user_id=written.user, include_superseded=True, text_contains="paris").results
        assert superseded and all(m.valid_to is not None for m in superseded)
    async with AsyncMemstream(api_key=system.admin_key, base_url=system.system.base_url) as async_client:
        assert [m.memory for m in (await async_client.get_all(**filters)).results] == [NOTES[1]]
