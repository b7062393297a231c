"""Idempotency keys through the running system: a retried write answers the first answer and produces nothing,
a key reused for another request is a 422, duplicates racing each other run once, and each credential has its
own keys. What was produced is read from Kafka (the turns topic's end offsets) and from the memories listed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from api.gateway.principal import Scope as KeyScope
from tests.e2e.conftest import RunningSystem
from tests.e2e.tenants import written
from tests.support import bearer, issue_key, unique, wait_until

pytestmark = pytest.mark.e2e


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def memories_of(client: httpx.Client, user: str, token: str) -> list[dict[str, Any]]:
    def listed() -> tuple[list[dict[str, Any]]] | None:
        response = client.get("/v1/memories", params={"user_id": user, "consistency_token": token})
        return (response.json()["results"],) if response.status_code == 200 else None

    (results,) = wait_until(listed, timeout=120, what=f"{user}'s memories")
    return results


def test_a_retried_add_answers_the_first_answer_and_adds_nothing(system: RunningSystem) -> None:
    user, headers = unique("u-"), key()
    body = {"user_id": user, "text": "I keep bees on the roof.", "infer": False}
    with system.client() as client:
        first = client.post("/v1/memories", json=body, headers=headers)
        assert first.status_code == 202, first.text
        assert "idempotent-replayed" not in first.headers
        after_first = written(system.settings)
        again = client.post("/v1/memories", json=body, headers=headers)
        assert again.status_code == 202, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content  # the same event ids and the same consistency token
        assert written(system.settings) == after_first, "the replay produced a turn"
        memories = memories_of(client, user, first.json()["consistency_token"])
        assert [m["memory"] for m in memories] == ["I keep bees on the roof."]


def test_a_key_reused_for_another_request_is_422_and_produces_nothing(system: RunningSystem) -> None:
    user, headers = unique("u-"), key()
    with system.client() as client:
        first = client.post("/v1/memories", json={"user_id": user, "text": "I sail.", "infer": False}, headers=headers)
        assert first.status_code == 202, first.text
        before = written(system.settings)
        for method, path, body in [
            ("POST", "/v1/memories", {"user_id": user, "text": "I row.", "infer": False}),  # another body
            ("POST", "/v1/memories/search", {"user_id": user, "query": "sail"}),  # another route
        ]:
            response = client.request(method, path, json=body, headers=headers)
            if path == "/v1/memories/search":
                # The search route takes no key: the header means nothing there, and the search runs.
                assert response.status_code == 200, response.text
                continue
            assert response.status_code == 422, response.text
            assert "already used for a different request" in response.json()["detail"]
        assert written(system.settings) == before


def test_each_credential_has_its_own_keys(system: RunningSystem) -> None:
    user, headers = unique("u-"), key()
    other = issue_key(system.settings, system.app_id, scopes=[KeyScope.WRITE, KeyScope.READ], name="second")
    body = {"user_id": user, "text": "I fence on Fridays.", "infer": False}
    with system.client() as client, system.client(other) as second:
        first = client.post("/v1/memories", json=body, headers=headers)
        theirs = second.post("/v1/memories", json=body, headers=headers)
        assert first.status_code == theirs.status_code == 202, theirs.text
        assert "idempotent-replayed" not in theirs.headers
        assert theirs.json()["event_ids"] != first.json()["event_ids"]  # its own write, not a replay


def test_duplicates_racing_each_other_run_once(system: RunningSystem) -> None:
    user, headers = unique("u-"), key()
    body = {"user_id": user, "text": "I bake bread on Saturdays.", "infer": False}

    async def race() -> list[httpx.Response]:
        async with system.async_client() as client:
            return await asyncio.gather(*(client.post("/v1/memories", json=body, headers=headers) for _ in range(8)))

    before = written(system.settings)
    answers = asyncio.run(race())
    ran = [a for a in answers if a.status_code == 202 and "idempotent-replayed" not in a.headers]
    assert len(ran) == 1, [(a.status_code, a.headers.get("idempotent-replayed")) for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.headers["retry-after"] == "1" and "still being processed" in answer.json()["detail"]
        else:
            assert answer.status_code == 202 and answer.content == ran[0].content, answer.text
    assert written(system.settings) == before + 1
    with system.client() as client:
        # A 409's retry, after the first finished, gets the first answer.
        retried = client.post("/v1/memories", json=body, headers=headers)
        assert retried.headers["idempotent-replayed"] == "true" and retried.content == ran[0].content
        assert len(memories_of(client, user, ran[0].json()["consistency_token"])) == 1


def test_a_refusal_is_an_answer_too(system: RunningSystem) -> None:
    headers = key()
    body = {"user_id": unique("u-"), "text": "   ", "infer": False}  # blank: a 400
    with system.client() as client:
        first = client.post("/v1/memories", json=body, headers=headers)
        again = client.post("/v1/memories", json=body, headers=headers)
    assert first.status_code == again.status_code == 400, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content


@pytest.mark.parametrize(
    ("value", "why"),
    [("has space", "visible ASCII"), ("x" * 256, "1 to 255"), ("", "visible ASCII")],
    ids=["space", "too-long", "empty"],
)
def test_a_bad_key_is_400(system: RunningSystem, value: str, why: str) -> None:
    before = written(system.settings)
    with httpx.Client(base_url=system.system.base_url, headers=bearer(system.admin_key)) as client:
        response = client.post(
            "/v1/memories",
            json={"user_id": unique("u-"), "text": "I paint.", "infer": False},
            headers={"Idempotency-Key": value},
        )
    assert response.status_code == 400, response.text
    assert why in response.json()["detail"] and "Idempotency-Key" in response.json()["detail"]
    assert written(system.settings) == before


def test_the_schema_states_the_header_on_idempotent_routes(system: RunningSystem) -> None:
    with system.client() as client:
        paths = client.get("/schema/openapi.json").json()["paths"]
    for path, method in [("/v1/memories", "post"), ("/v1/tools/{name}", "post")]:
        operation = paths[path][method]
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["required"] is False
        assert {"409", "422"} <= set(operation["responses"])
    assert not any(p["name"] == "Idempotency-Key" for p in paths["/v1/memories"]["get"].get("parameters", []))
