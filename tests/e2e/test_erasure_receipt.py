"""Erasing a user answers with an erasure id; its receipt reports, store by store, that the user's data is gone.

The user has data in every store first (rows in PostgreSQL, vectors in Milvus, nodes in Neo4j, a cached search
in Redis), counted with ``replay.erasure.holdings`` so that "gone" means something. Real processes, real stores,
authentication on with HS256 JWTs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from api.erasure.retention import describe_duration
from memory.settings import Settings
from memstream_cli.processes import start_system
from replay.erasure import holdings
from tests.e2e.conftest import RunningSystem, free_port, running_system
from tests.support import unique, wait_until

SECRET = "erasure-receipt-test-secret-0123456789"
STORES = ("postgres", "milvus", "neo4j", "redis")


def bearer(app_id: str, user_id: str, scope: str) -> dict[str, str]:
    claims = {"sub": user_id, "app_id": app_id, "scope": scope, "exp": int(time.time()) + 3600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


@pytest.fixture(scope="module")
def gated(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    logs: Path = tmp_path_factory.mktemp("logs")
    with running_system(stack_settings, logs, auth_enabled=True, jwt_hs256_secret=SECRET) as running:
        yield running


def by_store(counts: dict[str, int]) -> dict[str, int]:
    return {store: sum(n for name, n in counts.items() if name.startswith(f"{store}.")) for store in STORES}


def test_erasing_a_user_answers_with_a_receipt_that_sees_every_store_empty(gated: RunningSystem) -> None:
    app, user = gated.app_id, unique("erin-")
    own = bearer(app, user, "memories:read memories:write")
    admin = bearer(app, user, "admin memories:read memories:write")
    params = {"app_id": app, "user_id": user}
    with gated.client() as client:
        added = client.post(
            "/v1/memories",
            headers=own,
            json={**params, "text": "I live in Lisbon with my cat Miso and I work as a nurse."},
        )
        assert added.status_code == 202, added.text
        token = added.json()["consistency_token"]
        listed = client.get("/v1/memories", headers=own, params={**params, "consistency_token": token})
        assert listed.status_code == 200 and listed.json()["total"] >= 1, listed.text
        # A search fills the user's cache in Redis.
        found = client.post("/v1/memories/search", headers=own, json={**params, "query": "where does she live?"})
        assert found.status_code == 200 and found.json()["results"], found.text

        def held_everywhere() -> dict[str, int] | None:
            counts = by_store(holdings(gated.settings, app, user))
            return counts if all(counts.values()) else None

        before = wait_until(held_everywhere, timeout=60, what="the user's data in every store")

        erased = client.delete("/v1/memories", headers=admin, params=params)
        assert erased.status_code == 202, erased.text
        accepted = erased.json()
        assert accepted["status"] == "accepted" and accepted["consistency_token"].startswith("mst1.")
        erasure_id = accepted["erasure_id"]
        assert erasure_id == accepted["event_ids"][0]  # the erase command's event id names the erasure

        def receipt() -> dict[str, Any]:
            answer = client.get(f"/v1/erasures/{erasure_id}", headers=admin)
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body

        first = receipt()
        assert first["status"] in {"pending", "done"}
        done = wait_until(lambda: (r := receipt())["status"] == "done" and r, timeout=90, what="the erasure done")

    assert (done["erasure_id"], done["app_id"], done["user_id"]) == (erasure_id, app, user)
    assert done["command"]["applied"] is True
    assert done["command"]["topic"] == gated.settings.topics.commands
    assert done["consistency_token"] == accepted["consistency_token"]
    assert "live" in done["targets_checked"]
    stores = {s["store"]: s for s in done["stores"]}
    assert set(stores) == set(STORES)
    for store in STORES:
        assert before[store] > 0  # it held something before, so gone is a change
        assert stores[store]["gone"] is True and sum(stores[store]["held"].values()) == 0, stores[store]
    # What the stores themselves say, asked again by the test.
    assert all(n == 0 for n in holdings(gated.settings, app, user).values())
    # The log is not rewritten, and the receipt says so with each topic's retention as the broker has it.
    log = done["kafka_log"]
    topics = {t["topic"]: t["retention_ms"] for t in log["topics"]}
    assert gated.settings.topics.turns in topics and gated.settings.topics.memories in topics
    assert all(isinstance(ms, int) for ms in topics.values()), topics
    turns = gated.settings.topics.turns
    assert "still holds the events" in log["statement"]
    assert f"{turns} keeps records for {describe_duration(topics[turns])}" in log["statement"], log["statement"]


def test_an_unknown_id_and_another_apps_erasure_are_the_same_404(gated: RunningSystem) -> None:
    app, user = gated.app_id, unique("ola-")
    admin = bearer(app, user, "admin")
    with gated.client() as client:
        erased = client.delete("/v1/memories", headers=admin, params={"app_id": app, "user_id": user})
        assert erased.status_code == 202, erased.text
        erasure_id = erased.json()["erasure_id"]
        assert client.get(f"/v1/erasures/{erasure_id}", headers=admin).status_code == 200

        unknown = client.get("/v1/erasures/no-such-erasure", headers=admin)
        other_app = client.get(f"/v1/erasures/{erasure_id}", headers=bearer(unique("other-"), user, "admin"))
    assert unknown.status_code == other_app.status_code == 404
    assert unknown.json() == other_app.json() == {"status_code": 404, "detail": "no erasure with this id"}


def test_a_receipt_needs_the_admin_scope(gated: RunningSystem) -> None:
    app, user = gated.app_id, unique("nia-")
    params = {"app_id": app, "user_id": user}
    with gated.client() as client:
        erased = client.delete("/v1/memories", headers=bearer(app, user, "admin"), params=params)
        assert erased.status_code == 202, erased.text
        erasure_id = erased.json()["erasure_id"]
        refused = client.get(f"/v1/erasures/{erasure_id}", headers=bearer(app, user, "memories:read memories:write"))
        unknown = client.get("/v1/erasures/no-such-erasure", headers=bearer(app, user, "memories:read"))
    with httpx.Client(base_url=gated.system.base_url, timeout=30) as plain:  # no credential at all
        anonymous = plain.get(f"/v1/erasures/{erasure_id}")
    assert refused.status_code == 403 and "admin" in refused.json()["detail"], refused.text
    assert unknown.status_code == 403  # the scope is checked before the id: nothing is learnt about ids
    assert anonymous.status_code == 401


def test_a_receipt_is_answered_by_any_api_process(gated: RunningSystem, tmp_path: Path) -> None:
    """The request is kept in PostgreSQL: a second API process (own port, same stores) answers for it."""
    app, user = gated.app_id, unique("ivo-")
    admin = bearer(app, user, "admin")
    with gated.client() as client:
        erased = client.delete("/v1/memories", headers=admin, params={"app_id": app, "user_id": user})
        assert erased.status_code == 202, erased.text
    second = start_system(replace(gated.settings, api_port=free_port()), tmp_path, components=("api",))
    try:
        second.wait_ready()
        with httpx.Client(base_url=second.base_url, timeout=30) as other:
            answer = other.get(f"/v1/erasures/{erased.json()['erasure_id']}", headers=admin)
    finally:
        second.stop()
    assert answer.status_code == 200, answer.text
    assert answer.json()["user_id"] == user
