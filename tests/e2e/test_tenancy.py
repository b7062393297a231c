"""Every route allows only what the caller's credential allows, through the running system with authentication on.

Per route: the needed scope is enough, with the app and user named or left to the credential; another app, or
another user for a user-bound credential, is a 403 naming that rule, the same whether the other app or user
exists or not; a missing scope is a 403; another tenant's memory id is the same 404 as an id that never
existed; no credential, or a bad one, is a 401. Nothing a refused request asked for reaches Kafka.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.gateway.principal import Scope as KeyScope
from memory.settings import Settings
from tests.e2e.conftest import RunningSystem
from tests.e2e.tenants import (
    ADMIN,
    READ,
    WRITE,
    Tenant,
    client_without_credential,
    jwt_for,
    new_tenant,
    seed,
    system_with_auth,
    without_id,
    written,
)
from tests.support import bearer, issue_key, unique

pytestmark = pytest.mark.e2e

SOME_ID = "6f1c9a52-3d1e-5b8e-9a3c-6d656d737472"


@dataclass(frozen=True)
class Route:
    name: str
    needs: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    ok: int = 200

    @property
    def takes_id(self) -> bool:
        return "{id}" in self.path


ROUTES = [
    Route("add", WRITE, "POST", "/v1/memories", {"text": "I collect stamps.", "infer": False}, 202),
    Route("search", READ, "POST", "/v1/memories/search", {"query": "bees", "use_cache": False}),
    Route("context", READ, "POST", "/v1/context", {"query": "bees", "max_tokens": 200}),
    Route("list", READ, "GET", "/v1/memories"),
    Route("get", READ, "GET", "/v1/memories/{id}"),
    Route("history", READ, "GET", "/v1/memories/{id}/history"),
    Route("lineage", READ, "GET", "/v1/memories/{id}/lineage"),
    Route("update", WRITE, "PUT", "/v1/memories/{id}", {"pinned": True}, 202),
    Route("delete", WRITE, "DELETE", "/v1/memories/{id}", None, 202),
    Route("erase", ADMIN, "DELETE", "/v1/memories", None, 202),
    Route("conversations", READ, "POST", "/v1/conversations/search", {"query": "bees"}),
    # The seeds are added without a conversation id: the API files them under "default".
    Route("turns", READ, "GET", "/v1/conversations/default/turns"),
    Route("sessions", READ, "GET", "/v1/sessions"),
    Route("tool-read", READ, "POST", "/v1/tools/archival_memory_search", {"arguments": {"query": "bees"}}),
    Route("tool-write", WRITE, "POST", "/v1/tools/archival_memory_insert", {"arguments": '{"content": "I skate."}'}),
    # Core memory blocks: human always exists, so these answer the same however often they run. Create and
    # replace (which would conflict on a second run) are checked by tests/e2e/test_core_blocks.py.
    Route("blocks", READ, "GET", "/v1/blocks"),
    Route("block", READ, "GET", "/v1/blocks/human"),
    Route("block_history", READ, "GET", "/v1/blocks/human/history"),
    Route("block_append", WRITE, "POST", "/v1/blocks/human/append", {"content": "Keeps bees."}, 202),
    Route("block_delete", WRITE, "DELETE", "/v1/blocks/human", None, 202),
]
BY_NAME = {route.name: route for route in ROUTES}
WITH_ID = [route for route in ROUTES if route.takes_id]


def call(
    client: httpx.Client,
    route: Route,
    credential: str | None,
    app: str | None = None,
    user: str | None = None,
    memory_id: str = SOME_ID,
) -> httpx.Response:
    """``app``/``user`` None: left out of the request, for the credential to decide."""
    scope = {name: value for name, value in (("app_id", app), ("user_id", user)) if value is not None}
    path = route.path.format(id=memory_id)
    headers = bearer(credential) if credential else {}
    if route.body is not None:
        return client.request(route.method, path, json={**route.body, **scope}, headers=headers)
    return client.request(route.method, path, params=scope, headers=headers)


def other_scopes(needed: str) -> list[str]:
    """Every scope but the needed one and admin (which implies read and write)."""
    return [scope for scope in (READ, WRITE) if scope != needed]


@dataclass
class World:
    system: RunningSystem
    alice: Tenant  # app A: the caller
    bob: Tenant  # app A, another user
    carol: Tenant  # app B
    kept: str  # alice's memory that reads and updates use
    deletable: list[str]  # alice's memories the allowed deletes remove
    bobs_kept: str  # bob's, for app-wide keys of app A
    bobs_deletable: list[str]

    def client(self) -> httpx.Client:
        return client_without_credential(self.system)

    def credential(self, *scopes: str, user: str | None = None) -> str:
        return jwt_for(self.alice.app, user or self.alice.user, *scopes)


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with system_with_auth(stack_settings, tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture(scope="module")
def world(system: RunningSystem) -> World:
    alice, bob = new_tenant(system.app_id), new_tenant(system.app_id)
    carol = new_tenant(unique("app-"))
    with client_without_credential(system) as client:
        seed(client, alice, [f"{alice.marker}: I keep bees.", "I sail on Sundays.", "I paint in the mornings."])
        seed(client, bob, [f"{bob.marker}: I keep bees too.", "I fence on Fridays.", "I bake bread."])
        seed(client, carol, [f"{carol.marker}: I keep bees as well."])
        ids = {
            m["memory"]: m["id"]
            for tenant in (alice, bob)
            for m in client.get("/v1/memories", headers=tenant.headers).json()["results"]
        }
    return World(
        system,
        alice,
        bob,
        carol,
        ids[f"{alice.marker}: I keep bees."],
        [ids["I sail on Sundays."], ids["I paint in the mornings."]],
        ids[f"{bob.marker}: I keep bees too."],
        [ids["I fence on Fridays."], ids["I bake bread."]],
    )


@pytest.fixture
def nothing_written(world: World) -> Iterator[None]:
    before = written(world.system.settings)
    yield
    assert written(world.system.settings) == before, "a refused request produced something"


def memory_for(world: World, route: Route, named: bool) -> str:
    return world.deletable[named] if route.name == "delete" else world.kept


@pytest.mark.parametrize("named", [True, False], ids=["app-and-user-named", "left-to-the-credential"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_the_needed_scope_is_enough(world: World, route: Route, named: bool) -> None:
    # Erasing a whole user is tried on a user of its own (an admin JWT names that user).
    user = unique("erased-") if route.name == "erase" else world.alice.user
    credential = world.credential(route.needs, user=user)
    with world.client() as client:
        response = call(
            client,
            route,
            credential,
            world.alice.app if named else None,
            user if named else None,
            memory_for(world, route, named),
        )
    assert response.status_code == route.ok, response.text
    body = response.json()
    if route.name in ("get", "lineage", "block"):
        assert (body["app_id"], body["user_id"]) == (world.alice.app, world.alice.user)
    if route.name == "blocks":
        assert {(b["app_id"], b["user_id"]) for b in body["blocks"]} == {(world.alice.app, world.alice.user)}
    if route.name == "list":
        assert {(m["app_id"], m["user_id"]) for m in body["results"]} == {(world.alice.app, world.alice.user)}
    if route.name == "search":
        assert body["results"] and world.alice.marker in body["results"][0]["memory"]
    if route.name == "conversations":
        assert body["results"] and world.alice.marker in body["results"][0]["text"]
        assert all(world.bob.marker not in hit["text"] for hit in body["results"])
    if route.name == "turns":
        assert any(world.alice.marker in turn["text"] for turn in body["results"])
        assert all(world.bob.marker not in turn["text"] for turn in body["results"])
    if route.name == "tool-read":
        assert world.alice.marker in body["text"] and world.bob.marker not in body["text"]
    if route.name == "sessions":
        # The seeds are alice's turns in "default": a session (or more) of hers, and only hers.
        assert body["results"] and body["total"] >= 1
        assert {(s["app_id"], s["user_id"]) for s in body["results"]} == {(world.alice.app, world.alice.user)}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in ("delete", "erase")], ids=lambda r: r.name)
def test_admin_implies_read_and_write(world: World, route: Route) -> None:
    with world.client() as client:
        response = call(client, route, world.credential(ADMIN), memory_id=world.kept)
    assert response.status_code == route.ok, response.text


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_another_app_is_403_whether_or_not_it_exists(world: World, route: Route, nothing_written: None) -> None:
    credential = world.credential(route.needs)
    never = unique("no-such-app-")
    with world.client() as client:
        existing = call(client, route, credential, world.carol.app, memory_id=world.kept)
        missing = call(client, route, credential, never, memory_id=world.kept)
    assert existing.status_code == missing.status_code == 403, existing.text
    assert "not this credential's app" in existing.json()["detail"]
    blanked = existing.json()["detail"].replace(world.carol.app, "<app>")
    assert blanked == missing.json()["detail"].replace(never, "<app>")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_another_user_is_403_whether_or_not_they_exist(world: World, route: Route, nothing_written: None) -> None:
    credential = world.credential(route.needs)
    never = unique("no-such-user-")
    with world.client() as client:
        existing = call(client, route, credential, world.alice.app, world.bob.user, world.kept)
        missing = call(client, route, credential, None, never, world.kept)
    assert existing.status_code == missing.status_code == 403, existing.text
    assert "not this credential's user" in existing.json()["detail"]
    assert existing.json()["detail"].replace(world.bob.user, "<u>") == missing.json()["detail"].replace(never, "<u>")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_missing_scope_is_403(world: World, route: Route, nothing_written: None) -> None:
    with world.client() as client:
        response = call(client, route, world.credential(*other_scopes(route.needs)), memory_id=world.kept)
    assert response.status_code == 403, response.text
    assert f"lacks the '{route.needs}' scope" in response.json()["detail"]


@pytest.mark.parametrize("route", WITH_ID, ids=lambda r: r.name)
def test_another_tenants_memory_id_is_the_404_of_an_id_that_never_existed(
    world: World, route: Route, nothing_written: None
) -> None:
    credential = world.credential(route.needs)
    bobs = world.bobs_kept
    carols = next(iter(world.carol.memory_ids))
    with world.client() as client:
        answers = {memory_id: call(client, route, credential, memory_id=memory_id) for memory_id in (bobs, carols)}
        unknown = call(client, route, credential, memory_id=SOME_ID)
    assert unknown.status_code == 404, unknown.text
    for memory_id, answer in answers.items():
        assert answer.status_code == 404, answer.text
        assert without_id(answer.json(), memory_id) == without_id(unknown.json(), SOME_ID)
        assert answer.headers.get("content-type") == unknown.headers.get("content-type")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_no_credential_or_a_bad_one_is_401(world: World, route: Route, nothing_written: None) -> None:
    forged = jwt_for(world.alice.app, world.alice.user, READ, WRITE, ADMIN) + "x"  # the signature no longer verifies
    with world.client() as client:
        for credential in (None, forged, "not-a-credential"):
            response = call(client, route, credential, memory_id=world.kept)
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_credential_naming_a_user_no_id_can_be_is_refused(world: World, nothing_written: None) -> None:
    # "x/y" would share the Kafka and cache key "app/x/y" with app "app/x"'s user "y".
    with world.client() as client:
        response = call(client, BY_NAME["list"], jwt_for(world.alice.app, "x/y", READ))
    assert response.status_code == 401, response.text
    assert "user id" in response.json()["detail"]


# --- app-wide API keys: any user of their app, never another app ----------------------------------------------


def app_wide_key(world: World, *scopes: str) -> str:
    return issue_key(world.system.settings, world.alice.app, scopes=[KeyScope(scope) for scope in scopes])


@pytest.mark.parametrize("named_app", [True, False], ids=["app-named", "app-left-to-the-key"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_an_app_wide_key_with_the_needed_scope_reaches_any_user_of_its_app(
    world: World, route: Route, named_app: bool
) -> None:
    user = unique("erased-") if route.name == "erase" else world.bob.user
    memory_id = world.bobs_deletable[named_app] if route.name == "delete" else world.bobs_kept
    with world.client() as client:
        response = call(
            client, route, app_wide_key(world, route.needs), world.alice.app if named_app else None, user, memory_id
        )
    assert response.status_code == route.ok, response.text
    if route.name in ("get", "lineage"):
        assert (response.json()["app_id"], response.json()["user_id"]) == (world.bob.app, world.bob.user)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_an_app_wide_key_must_name_the_user(world: World, route: Route, nothing_written: None) -> None:
    with world.client() as client:
        response = call(client, route, app_wide_key(world, ADMIN), memory_id=world.bobs_kept)
    assert response.status_code == 400, response.text
    assert "user_id is required" in response.json()["detail"]


@pytest.mark.parametrize("scopes", [(ADMIN,), (READ, WRITE)], ids=["admin", "read-write"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_an_app_wide_key_never_reaches_another_app(
    world: World, route: Route, scopes: tuple[str, ...], nothing_written: None
) -> None:
    key, never = app_wide_key(world, *scopes), unique("no-such-app-")
    with world.client() as client:
        existing = call(client, route, key, world.carol.app, world.carol.user, world.kept)
        missing = call(client, route, key, never, world.carol.user, world.kept)
    assert existing.status_code == missing.status_code == 403, existing.text
    assert "not this credential's app" in existing.json()["detail"]
    blanked = existing.json()["detail"].replace(world.carol.app, "<app>")
    assert blanked == missing.json()["detail"].replace(never, "<app>")


@pytest.mark.parametrize("route", WITH_ID, ids=lambda r: r.name)
def test_for_an_app_wide_key_another_apps_memory_id_is_the_404_of_an_unknown_id(
    world: World, route: Route, nothing_written: None
) -> None:
    # Even naming the other app's user (within its own app): that user there has no such memory.
    key, carols = app_wide_key(world, ADMIN), next(iter(world.carol.memory_ids))
    with world.client() as client:
        answer = call(client, route, key, user=world.carol.user, memory_id=carols)
        unknown = call(client, route, key, user=world.carol.user, memory_id=SOME_ID)
    assert answer.status_code == unknown.status_code == 404, answer.text
    assert without_id(answer.json(), carols) == without_id(unknown.json(), SOME_ID)


def test_only_an_admin_key_erases_a_user(world: World, nothing_written: None) -> None:
    with world.client() as client:
        response = call(client, BY_NAME["erase"], app_wide_key(world, READ, WRITE), user=world.bob.user)
    assert response.status_code == 403, response.text
    assert "only 'admin' may erase a whole user" in response.json()["detail"]
