"""Property: no answer ever holds another tenant's data, whatever sequence of requests a tenant sends.

Four tenants on one running system with authentication on: two users of app A, and in app B a user with the
*same user id* as the first (so only the app tells them apart) and one more. Each writes texts that share
words, entities and metadata with the others' (bees, Lisbon, Lumen Labs), so an unscoped retriever, cache or
row fetch would find them, and each text carries a word of its tenant's alone (its marker).

Hypothesis draws sequences of steps, each by one tenant with its own credential: writes, corrections and
deletes, searches (every recipe, state and metadata filters, ``as_of``, ``known_as_of``, ``include_archived``,
cache on and off, consistency tokens), context blocks, conversation searches and the search tools, lists, and
get, history and lineage reads, with memory ids drawn from every tenant (the others' real ids too) and unknown
ones, plus requests naming another tenant's app or user. After every step: an answer holds none of the other
tenants' markers, memory ids, user ids (unless equal to the caller's) or app ids (likewise); another tenant's id
gets exactly the 404 of an unknown id; naming another tenant's app or user is a 403 that is the same for a
tenant that does not exist.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.schemas import STATE_NAMES
from memory.retrieval.recipes import RECIPES
from memory.settings import Settings
from tests.e2e.conftest import RunningSystem
from tests.e2e.tenants import (
    Tenant,
    add,
    client_without_credential,
    learn_ids,
    new_tenant,
    seed,
    system_with_auth,
    without_id,
)
from tests.support import unique

pytestmark = pytest.mark.e2e

EXAMPLES = 30
MAX_STEPS = 8
UNKNOWN_ID = "0d8e3c1a-7b2f-5e4d-9c6b-756e6b6e6f77"
# What every tenant says, each with its marker: shared words, entities and metadata across tenants.
SEED = ["keeps bees in the garden", "visited Lisbon in May with Sarah", "works at Lumen Labs on the Apollo project"]
WRITES = [
    "keeps bees on the roof now",
    "flew to Lisbon again for the conference",
    "left Lumen Labs for a startup",
    "reads about bees every evening",
    "met Sarah at Lumen Labs",
]
QUERIES = ["bees", "Where did I travel with Sarah?", "Lumen Labs", "What happened last week?", "Apollo", "Lisbon"]
TOPIC = {"topic": "bees"}  # on every write: a metadata filter on it matches every tenant's rows


@dataclass
class World:
    system: RunningSystem
    tenants: list[Tenant]
    seeded: set[str]  # seeded ids: they stay readable unless a delete step targets them
    delete_asked: set[str]
    latest_token: str
    unknown_404: dict[tuple[int, str], dict[str, Any]]  # (tenant, route) → the 404 body for UNKNOWN_ID
    seen: Counter[str]  # how often a step found the caller's own data: the property is not met vacuously


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with system_with_auth(stack_settings, tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture(scope="module")
def world(system: RunningSystem) -> World:
    app_a, app_b = system.app_id, unique("app-")
    first = new_tenant(app_a)
    tenants = [first, new_tenant(app_a), new_tenant(app_b, user=first.user), new_tenant(app_b)]
    with client_without_credential(system) as client:
        for tenant in tenants:
            texts = [f"{tenant.marker} {text}" for text in SEED]
            seed(client, tenant, texts, metadata={**TOPIC, "owner": tenant.marker})
        for tenant in tenants:  # each finds its own, the twin user id of app B included
            found = client.post("/v1/memories/search", json={"query": "bees garden"}, headers=tenant.headers).json()
            assert found["results"][0]["memory"] == f"{tenant.marker} {SEED[0]}", found
    seeded = {memory_id for tenant in tenants for memory_id in tenant.memory_ids}
    assert len(seeded) == len(tenants) * len(SEED)
    return World(system, tenants, seeded, set(), "", {}, Counter())


# --- steps -----------------------------------------------------------------------------------------------------

TENANT = st.integers(min_value=0, max_value=3)


@dataclass(frozen=True)
class Target:
    """A memory id: one of tenant ``whose``'s ("own": the caller's; ``pick`` modulo how many it has), or an
    unknown one (``None``)."""

    whose: int | str | None
    pick: int

    def tenant(self, actor: int) -> int | None:
        return actor if self.whose == "own" else None if self.whose is None else int(self.whose)


@dataclass(frozen=True)
class Write:
    actor: int
    text: int
    agent: bool


@dataclass(frozen=True)
class Correct:
    actor: int
    target: Target
    pin: bool


@dataclass(frozen=True)
class Delete:
    actor: int
    target: Target


@dataclass(frozen=True)
class Search:
    actor: int
    query: int
    recipe: str
    narrowed: tuple[str, ...]  # names of NARROWINGS
    use_cache: bool
    wait: bool
    context: bool  # POST /v1/context instead


@dataclass(frozen=True)
class List:
    actor: int
    states: tuple[str, ...] | None
    agent: bool


@dataclass(frozen=True)
class Read:
    actor: int
    route: str  # get, history, lineage
    target: Target
    wait: bool


@dataclass(frozen=True)
class Recall:
    """The conversation log's search (the route, or the conversation_search tool) or archival_memory_search."""

    actor: int
    query: int
    via: str  # "conversations", or a tool's name
    wait: bool


@dataclass(frozen=True)
class Trespass:
    """The actor's credential naming ``victim``'s app and user."""

    actor: int
    victim: int
    route: str


TARGET = st.builds(Target, st.sampled_from(["own", "own", 0, 1, 2, 3, None]), st.integers(min_value=0, max_value=50))
STATES = st.one_of(
    st.none(),
    st.none(),
    st.lists(st.sampled_from(STATE_NAMES), min_size=1, max_size=4, unique=True).map(tuple),
)


def narrowings(neighbour: str, now: datetime) -> dict[str, dict[str, Any]]:
    """What a search may add to its body, by name; a step combines a few (most often none: a search that
    finds the caller's own memories tests more than one narrowed to nothing)."""
    day = timedelta(days=1)
    return {
        "active": {"filters": {"states": ["active"]}},
        "every state": {"filters": {"states": STATE_NAMES}},
        "metadata": {"filters": {"metadata": TOPIC}},
        "someone else's metadata": {"filters": {"metadata": {"owner": neighbour}}},
        "window": {"filters": {"occurred_after": (now - day).isoformat(), "occurred_before": (now + day).isoformat()}},
        "as of ten years ago": {"as_of": (now - 3650 * day).isoformat()},
        "as of now": {"as_of": now.isoformat()},
        "known as of yesterday": {"known_as_of": (now - day).isoformat()},
        "known as of now": {"known_as_of": now.isoformat()},
        "archived too": {"include_archived": True},
        "agent": {"agent_id": "bot"},
    }


NARROWED = st.lists(st.sampled_from(sorted(narrowings("", datetime.now(UTC)))), max_size=3, unique=True).map(tuple)
STEPS = {
    "write": st.builds(Write, TENANT, st.integers(min_value=0, max_value=len(WRITES) - 1), st.booleans()),
    "correct": st.builds(Correct, TENANT, TARGET, st.booleans()),
    "delete": st.builds(Delete, TENANT, TARGET),
    "search": st.builds(
        Search,
        TENANT,
        st.integers(min_value=0, max_value=len(QUERIES) - 1),
        st.sampled_from(["hybrid", *sorted(RECIPES)]),
        NARROWED,
        st.booleans(),
        st.booleans(),
        st.booleans(),
    ),
    "list": st.builds(List, TENANT, STATES, st.booleans()),
    "read": st.builds(Read, TENANT, st.sampled_from(["get", "history", "lineage"]), TARGET, st.booleans()),
    "recall": st.builds(
        Recall,
        TENANT,
        st.integers(min_value=0, max_value=len(QUERIES) - 1),
        st.sampled_from(["conversations", "conversation_search", "archival_memory_search"]),
        st.booleans(),
    ),
    "trespass": st.builds(Trespass, TENANT, TENANT, st.sampled_from(["list", "search", "get", "delete", "erase"])),
}
# Searches have the most ways to go wrong, and reads by id the most ids to mix up: drawn most often.
WEIGHTS = {"write": 2, "correct": 2, "delete": 1, "search": 6, "recall": 3, "list": 2, "read": 4, "trespass": 2}
STEP = st.sampled_from([kind for kind, weight in WEIGHTS.items() for _ in range(weight)]).flatmap(STEPS.__getitem__)


# --- checks ----------------------------------------------------------------------------------------------------


def assert_nothing_of_others(world: World, actor: Tenant, answer: Any, step: object) -> None:
    text = json.dumps(answer)
    for other in world.tenants:
        if other is actor:
            continue
        leaked = [value for value in (other.marker, *sorted(other.memory_ids)) if value in text]
        leaked += [other.user] if other.user != actor.user and other.user in text else []
        leaked += [other.app] if other.app != actor.app and other.app in text else []
        assert not leaked, f"{step}: {actor.user}@{actor.app} was answered {leaked} of {other.user}@{other.app}"


def owners(world: World, ids: list[str]) -> set[tuple[str, str]]:
    """Whose these memories are, as the store says (a deleted one's tombstone keeps its owner)."""
    with psycopg.connect(world.system.settings.postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT app_id, user_id FROM memories WHERE memory_id = ANY(%(ids)s)"
            " UNION SELECT app_id, user_id FROM memory_tombstones WHERE memory_id = ANY(%(ids)s)",
            {"ids": ids},
        ).fetchall()
    return {(str(app), str(user)) for app, user in rows}


def memory_id(world: World, actor: int, target: Target) -> str:
    whose = target.tenant(actor)
    if whose is None:
        return UNKNOWN_ID
    ids = sorted(world.tenants[whose].memory_ids)
    return ids[target.pick % len(ids)]


ID_ROUTES = {
    "get": ("GET", "/v1/memories/{id}", 200),
    "history": ("GET", "/v1/memories/{id}/history", 200),
    "lineage": ("GET", "/v1/memories/{id}/lineage", 200),
    "correct": ("PUT", "/v1/memories/{id}", 202),
    "delete": ("DELETE", "/v1/memories/{id}", 202),
}


def by_id(
    client: httpx.Client, tenant: Tenant, route: str, asked: str, body: dict[str, Any] | None, token: str = ""
) -> httpx.Response:
    method, path, _ = ID_ROUTES[route]
    params = {"consistency_token": token} if token else {}
    return client.request(method, path.format(id=asked), params=params, json=body, headers=tenant.headers)


def check_by_id(
    world: World,
    client: httpx.Client,
    step: Any,
    route: str,
    body: dict[str, Any] | None = None,
    token: str = "",
) -> None:
    """Own ids are answered (or 404, for an id that may be gone: deleted, or a write's dropped repeat);
    anyone else's get exactly the 404 of an id that never existed."""
    actor, target = world.tenants[step.actor], step.target
    asked = memory_id(world, step.actor, target)
    answer = by_id(client, actor, route, asked, body, token)
    ok = ID_ROUTES[route][2]
    if target.tenant(step.actor) == step.actor:
        surely_there = asked in world.seeded - world.delete_asked
        assert answer.status_code == ok or (answer.status_code == 404 and not surely_there), (
            f"{step}: {answer.status_code} {answer.text}"
        )
        if answer.status_code == ok:
            world.seen[route] += 1
            assert_nothing_of_others(world, actor, answer.json(), step)
        return
    assert answer.status_code == 404, f"{step}: {answer.status_code} {answer.text}"
    key = (step.actor, route)
    if key not in world.unknown_404:
        unknown = by_id(client, actor, route, UNKNOWN_ID, body)
        assert unknown.status_code == 404, unknown.text
        world.unknown_404[key] = without_id(unknown.json(), UNKNOWN_ID)
    assert without_id(answer.json(), asked) == world.unknown_404[key], step


def search_body(world: World, step: Search) -> dict[str, Any]:
    body: dict[str, Any] = {"query": QUERIES[step.query], "recipe": step.recipe}
    if step.context:
        body["max_tokens"] = 400
    else:
        body.update(use_cache=step.use_cache, top_k=20)
    possible = narrowings(world.tenants[(step.actor + 1) % len(world.tenants)].marker, datetime.now(UTC))
    for name in step.narrowed:
        if name == "archived too" and step.context:
            continue  # the context route does not take it
        for field, value in possible[name].items():
            body[field] = {**body.get(field, {}), **value} if field == "filters" else value
    if step.wait and world.latest_token:
        body["consistency_token"] = world.latest_token  # any tenant's write: the token names log positions only
    return body


# --- steps, run ------------------------------------------------------------------------------------------------


def run(world: World, client: httpx.Client, step: Any) -> None:
    actor = world.tenants[step.actor]
    if isinstance(step, Write):
        extra = {"metadata": {**TOPIC, "owner": actor.marker}} | ({"agent_id": "bot"} if step.agent else {})
        world.latest_token = add(client, actor, f"{actor.marker} {WRITES[step.text]}", **extra)
        learn_ids(client, actor, world.latest_token)  # its ids become targets, and others' forbidden ones
    elif isinstance(step, Correct):
        body = {"pinned": True} if step.pin else {"text": f"{actor.marker} corrected: {WRITES[step.target.pick % 5]}"}
        check_by_id(world, client, step, "correct", body)
    elif isinstance(step, Delete):
        if step.target.tenant(step.actor) == step.actor:
            world.delete_asked.add(memory_id(world, step.actor, step.target))
        check_by_id(world, client, step, "delete")
    elif isinstance(step, Read):
        check_by_id(world, client, step, step.route, token=world.latest_token if step.wait else "")
    elif isinstance(step, Search):
        path = "/v1/context" if step.context else "/v1/memories/search"
        answer = client.post(path, json=search_body(world, step), headers=actor.headers)
        assert answer.status_code == 200, f"{step}: {answer.status_code} {answer.text}"
        found = answer.json()
        assert_nothing_of_others(world, actor, found, step)
        ids = found["memory_ids"] if step.context else [hit["id"] for hit in found["results"]]
        assert owners(world, ids) <= {(actor.app, actor.user)}, step
        actor.memory_ids.update(ids)
        world.seen["search hits"] += bool(ids)
    elif isinstance(step, List):
        params: dict[str, Any] = {"state": list(step.states)} if step.states else {}
        params |= {"agent_id": "bot"} if step.agent else {}
        answer = client.get("/v1/memories", params=params, headers=actor.headers)
        assert answer.status_code == 200, f"{step}: {answer.status_code} {answer.text}"
        rows = answer.json()["results"]
        assert {(row["app_id"], row["user_id"]) for row in rows} <= {(actor.app, actor.user)}, step
        assert_nothing_of_others(world, actor, answer.json(), step)
        actor.memory_ids.update(row["id"] for row in rows)
        world.seen["list rows"] += bool(rows)
    elif isinstance(step, Recall):
        recall(world, client, step)
    elif isinstance(step, Trespass):
        trespass(world, client, step)


def recall(world: World, client: httpx.Client, step: Recall) -> None:
    actor = world.tenants[step.actor]
    query = QUERIES[step.query]
    if step.via == "conversations":
        body: dict[str, Any] = {"query": query, "page_size": 50}
        if step.wait and world.latest_token:
            body["consistency_token"] = world.latest_token
        answer = client.post("/v1/conversations/search", json=body, headers=actor.headers)
    else:
        call = {"arguments": json.dumps({"query": query})}
        answer = client.post(f"/v1/tools/{step.via}", json=call, headers=actor.headers)
    assert answer.status_code == 200, f"{step}: {answer.status_code} {answer.text}"
    assert_nothing_of_others(world, actor, answer.json(), step)
    world.seen["recall hits"] += actor.marker in answer.text


def trespass(world: World, client: httpx.Client, step: Trespass) -> None:
    """Naming another tenant's app and user: 403, the same answer as for a tenant that never existed."""
    actor, victim = world.tenants[step.actor], world.tenants[step.victim]
    if (victim.app, victim.user) == (actor.app, actor.user):
        return
    ghost = (unique("ghost-app-") if victim.app != actor.app else actor.app, unique("ghost-"))

    def ask(app: str, user: str) -> httpx.Response:
        scope = {"app_id": app, "user_id": user}
        if step.route == "search":
            return client.post("/v1/memories/search", json={"query": "bees", **scope}, headers=actor.headers)
        path = {"list": "/v1/memories", "erase": "/v1/memories"}.get(step.route, f"/v1/memories/{UNKNOWN_ID}")
        method = "DELETE" if step.route in ("delete", "erase") else "GET"
        return client.request(method, path, params=scope, headers=actor.headers)

    real, imagined = ask(victim.app, victim.user), ask(*ghost)
    assert real.status_code == imagined.status_code == 403, f"{step}: {real.status_code} {real.text}"
    blanked = real.json()["detail"].replace(victim.app, "<app>").replace(victim.user, "<user>")
    assert blanked == imagined.json()["detail"].replace(ghost[0], "<app>").replace(ghost[1], "<user>"), step
    assert not any(value in real.text for value in (victim.marker, *victim.memory_ids)), step


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(STEP, min_size=1, max_size=MAX_STEPS))
def test_no_answer_holds_another_tenants_data(world: World, steps: list[Any]) -> None:
    world.seen["examples"] += 1
    with client_without_credential(world.system) as client:
        for step in steps:
            run(world, client, step)


def test_the_property_was_not_met_by_answering_nothing(world: World) -> None:
    """The steps above found the callers' own data often: an API answering nothing would fail here."""
    if not world.seen["examples"]:
        pytest.skip("counts what test_no_answer_holds_another_tenants_data saw: run the module")
    assert world.seen["search hits"] >= 5 and world.seen["list rows"] >= 2, world.seen
    assert world.seen["get"] + world.seen["history"] + world.seen["lineage"] >= 3, world.seen
    assert world.seen["recall hits"] >= 2, world.seen
