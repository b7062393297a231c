"""Core memory blocks through the running system: every route, its refusals, history and as-of reads, the
context with blocks, tenancy, racing edits, the two tool handlers, and a PostgreSQL rebuild from the log.

Writes answer 202 at once; reads pass the write's consistency token, so they see it without polling.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from adapters.kafka import SyncProducer, make_producer
from adapters.token_key import token_key
from api.errors import ApiError
from api.gateway.principal import Scope as KeyScope
from memory.contract.codec import Codec
from memory.contract.events import Scope, new_command
from memory.contract.positions import encode_token
from projections.targets import settings_for_target
from replay.deadletters import read_dead_letters
from replay.verify import verify
from tests.e2e.conftest import RunningSystem
from tests.support import issue_key, unique

pytestmark = pytest.mark.e2e


class Blocks:
    """One user's blocks through the API, as the system's app-wide admin key (which must name the user)."""

    def __init__(self, system: RunningSystem, user: str | None = None, agent: str | None = None):
        self.system = system
        self.user = user or unique("u-")
        self.agent = agent
        self.token = ""

    @property
    def scope(self) -> dict[str, str]:
        named = {"user_id": self.user, "app_id": self.system.app_id}
        return {**named, "agent_id": self.agent} if self.agent else named

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> httpx.Response:
        with self.system.client() as client:
            if body is not None:
                return client.request(method, path, json={**body, **self.scope})
            return client.request(method, path, params={**self.scope, **params})

    def write(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.request(method, path, body)
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        assert accepted["status"] == "accepted" and len(accepted["event_ids"]) == 1
        self.token = accepted["consistency_token"]
        return accepted

    def refused(self, status: int, method: str, path: str, body: dict[str, Any] | None = None) -> str:
        """The refusal's message (with what did not decode, for a body that did not)."""
        response = self.request(method, path, body)
        assert response.status_code == status, response.text
        answer = response.json()
        detail: str = answer["detail"]
        return f"{detail} {answer['extra']}" if answer.get("extra") else detail

    def create(self, label: str, value: str = "", limit: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"label": label, "value": value}
        if limit is not None:
            body["limit"] = limit
        return self.write("POST", "/v1/blocks", body)

    def append(self, label: str, content: str) -> dict[str, Any]:
        return self.write("POST", f"/v1/blocks/{label}/append", {"content": content})

    def replace(self, label: str, old: str, new: str) -> dict[str, Any]:
        return self.write("POST", f"/v1/blocks/{label}/replace", {"old": old, "new": new})

    def delete(self, label: str) -> dict[str, Any]:
        return self.write("DELETE", f"/v1/blocks/{label}")

    def get(self, label: str, **params: Any) -> dict[str, Any]:
        response = self.request("GET", f"/v1/blocks/{label}", consistency_token=self.token, **params)
        assert response.status_code == 200, response.text
        block: dict[str, Any] = response.json()
        return block

    def all(self, **params: Any) -> list[dict[str, Any]]:
        response = self.request("GET", "/v1/blocks", consistency_token=self.token, **params)
        assert response.status_code == 200, response.text
        blocks: list[dict[str, Any]] = response.json()["blocks"]
        return blocks

    def history(self, label: str) -> list[dict[str, Any]]:
        response = self.request("GET", f"/v1/blocks/{label}/history", consistency_token=self.token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["label"] == label
        entries: list[dict[str, Any]] = body["entries"]
        return entries


def test_persona_and_human_exist_empty_until_written(system: RunningSystem) -> None:
    blocks = Blocks(system)
    listed = blocks.all()
    assert [(b["label"], b["value"], b["limit"], b["version"], b["updated_at"]) for b in listed] == [
        ("persona", "", 2000, 0, None),
        ("human", "", 2000, 0, None),
    ]
    assert {(b["app_id"], b["user_id"], b["agent_id"]) for b in listed} == {(system.app_id, blocks.user, None)}
    assert blocks.get("human")["version"] == 0
    assert blocks.history("human") == []


def test_create_append_replace_delete_with_history_and_as_of(system: RunningSystem) -> None:
    blocks = Blocks(system)
    created = blocks.create("notes", "Project: Apollo", limit=100)
    assert {k: created["block"][k] for k in ("label", "value", "limit", "version")} == {
        "label": "notes",
        "value": "Project: Apollo",
        "limit": 100,
        "version": 1,
    }
    first = blocks.get("notes")
    assert (first["value"], first["limit"], first["version"]) == ("Project: Apollo", 100, 1)

    appended = blocks.append("notes", "Deadline: May, May at the latest")
    assert appended["block"]["value"] == "Project: Apollo\nDeadline: May, May at the latest"
    replaced = blocks.replace("notes", "May", "June")  # every occurrence
    assert replaced["block"]["value"] == "Project: Apollo\nDeadline: June, June at the latest"
    blocks.replace("notes", ", June at the latest", "")  # an empty new text deletes the old
    now = blocks.get("notes")
    assert (now["value"], now["version"]) == ("Project: Apollo\nDeadline: June", 4)
    assert [b["label"] for b in blocks.all()] == ["persona", "human", "notes"]

    history = blocks.history("notes")
    assert [(e["version"], e["change"], e["reason"]) for e in history] == [
        (1, "created", None),
        (2, "appended", None),
        (3, "replaced", None),
        (4, "replaced", None),
    ]
    assert history[1]["value"] == "Project: Apollo\nDeadline: May, May at the latest"
    assert all(e["recorded_at"] >= e["occurred_at"] for e in history)

    between = (
        datetime.fromisoformat(history[1]["occurred_at"])
        + (datetime.fromisoformat(history[2]["occurred_at"]) - datetime.fromisoformat(history[1]["occurred_at"])) / 2
    )
    then = blocks.get("notes", as_of=between.isoformat())
    assert (then["value"], then["version"]) == ("Project: Apollo\nDeadline: May, May at the latest", 2)
    before = datetime.fromisoformat(history[0]["occurred_at"]) - timedelta(seconds=1)
    missing = blocks.request("GET", "/v1/blocks/notes", as_of=before.isoformat())
    assert missing.status_code == 404, missing.text

    blocks.delete("notes")
    assert [b["label"] for b in blocks.all()] == ["persona", "human"]
    assert blocks.refused(404, "GET", "/v1/blocks/notes") == "core memory block 'notes' does not exist"
    assert blocks.history("notes")[-1]["change"] == "deleted"
    recreated = blocks.create("notes", "Again")
    assert recreated["block"]["version"] == 6  # the label's count goes on after a delete


def test_refusals_are_clear_4xx_before_anything_is_produced(system: RunningSystem) -> None:
    blocks = Blocks(system)
    blocks.create("notes", "12345", limit=10)
    blocks.get("notes")  # applied: the checks below read it

    assert blocks.refused(409, "POST", "/v1/blocks", {"label": "notes"}) == "core memory block 'notes' already exists"
    over = blocks.refused(422, "POST", "/v1/blocks/notes/append", {"content": "abcdef"})
    assert over == "appending 6 characters to block 'notes' (5 characters now) would exceed its limit of 10 characters"
    missing = blocks.refused(409, "POST", "/v1/blocks/notes/replace", {"old": "Berlin" * 20, "new": "x"})
    assert missing == f"'{('Berlin' * 10)}...' is not in core memory block 'notes'"
    too_long = blocks.refused(422, "POST", "/v1/blocks/notes/replace", {"old": "5", "new": "0123456789"})
    assert "exceed the block's limit of 10 characters" in too_long
    assert blocks.refused(400, "POST", "/v1/blocks/notes/replace", {"old": "", "new": "x"}) == "old must not be empty"
    assert blocks.refused(400, "POST", "/v1/blocks/notes/append", {"content": ""}) == "content must not be empty"
    value_over = blocks.refused(422, "POST", "/v1/blocks", {"label": "big", "value": "x" * 11, "limit": 10})
    assert value_over == "value of 11 characters exceeds the limit of 10 characters"
    assert "limit" in blocks.refused(400, "POST", "/v1/blocks", {"label": "big", "limit": 20_001})
    assert blocks.refused(400, "GET", "/v1/blocks/Bad-Label")
    assert "label" in blocks.refused(400, "POST", "/v1/blocks", {"label": "9lives"})
    unknown = "core memory block 'nothing' does not exist"
    assert blocks.refused(404, "GET", "/v1/blocks/nothing") == unknown
    assert blocks.refused(404, "POST", "/v1/blocks/nothing/append", {"content": "x"}).startswith(unknown)
    assert blocks.refused(404, "POST", "/v1/blocks/nothing/replace", {"old": "x", "new": "y"}).startswith(unknown)
    assert blocks.refused(404, "DELETE", "/v1/blocks/nothing").startswith(unknown)
    assert [e["change"] for e in blocks.history("notes")] == ["created"]  # nothing refused was produced


@pytest.mark.parametrize(
    ("as_of", "names"),
    [
        ("88587", "as_of"),  # epoch seconds: a datetime parser would take it, the schema does not
        ("2026-03-01T12:00:00", "as_of"),  # no time zone
        ("2026-02-30T12:00:00Z", "exists"),  # the pattern's shape, not a real day
        ("1900-01-01T00:30:00+01:00", "outside"),  # 1899 in UTC
    ],
)
def test_an_as_of_the_schema_refuses_is_a_400_naming_it(system: RunningSystem, as_of: str, names: str) -> None:
    blocks = Blocks(system)
    for path in ("/v1/blocks", "/v1/blocks/persona"):
        response = blocks.request("GET", path, as_of=as_of)
        assert response.status_code == 400, response.text
        assert names in response.text
    assert blocks.request("GET", "/v1/blocks", as_of="2026-03-01t12:00:00z").status_code == 200


def test_persona_deleted_empties_back_and_an_agents_blocks_are_its_own(system: RunningSystem) -> None:
    shared = Blocks(system)
    shared.create("persona", "I am terse.", limit=300)
    shared.append("human", "Name: Alice")
    mine = Blocks(system, shared.user, agent="helper")
    mine.append("human", "Prefers metric units")
    assert mine.get("human")["value"] == "Prefers metric units"
    assert mine.get("human")["agent_id"] == "helper"
    assert shared.get("human")["value"] == "Name: Alice"
    assert shared.get("persona")["limit"] == 300

    shared.delete("persona")
    persona = shared.get("persona")
    assert (persona["value"], persona["limit"], persona["version"], persona["updated_at"]) == ("", 2000, 0, None)
    shared.create("persona", "I am chatty.")  # exists only once written: creatable again
    assert shared.get("persona")["value"] == "I am chatty."


def test_racing_edits_never_exceed_the_limit_and_the_loser_is_refused(system: RunningSystem) -> None:
    blocks = Blocks(system)
    blocks.create("notes", "", limit=12)
    blocks.get("notes")

    async def both() -> list[httpx.Response]:
        async with system.async_client() as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post("/v1/blocks/notes/append", json={"content": text, **blocks.scope})
                        for text in ("first 8c", "second 9")
                    )
                )
            )

    answers = asyncio.run(both())
    accepted = [a for a in answers if a.status_code == 202]
    assert accepted and all(a.status_code in (202, 422) for a in answers), [a.text for a in answers]
    for answer in accepted:
        blocks.token = answer.json()["consistency_token"]
        blocks.get("notes")  # wait for each
    value = blocks.get("notes")["value"]
    assert value in ("first 8c", "second 9")  # one of them, never both (17 characters > 12)
    changes = [e["change"] for e in blocks.history("notes")]
    if len(accepted) == 2:  # both passed the API's check: the lifecycle agent refused the later one
        assert changes == ["created", "appended", "refused"], changes
        refused = blocks.history("notes")[-1]
        assert "would exceed its limit of 12 characters" in refused["reason"]
        assert refused["value"] == value  # the block as it stayed
    else:
        assert changes == ["created", "appended"]


def test_context_puts_non_empty_blocks_first_within_the_budget(system: RunningSystem) -> None:
    blocks = Blocks(system)
    blocks.append("human", "Name: Alice. Lives in Lisbon.")
    with system.client() as client:
        added = client.post(
            "/v1/memories", json={"text": "I grow tomatoes on my balcony.", "infer": False, **blocks.scope}
        )
        assert added.status_code == 202, added.text
        token = added.json()["consistency_token"]
        blocks.get("human")

        def context(max_tokens: int, include: bool = True) -> dict[str, Any]:
            body = {"query": "what does Alice grow", "max_tokens": max_tokens, "include_blocks": include}
            response = client.post("/v1/context", json={**body, **blocks.scope, "consistency_token": token})
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            assert answer["token_count"] <= max_tokens
            return answer

        roomy = context(300)
        assert roomy["block_labels"] == ["human"]  # persona is empty: left out
        text = roomy["context"]
        assert text.startswith("<core_memory>\n<human>\nName: Alice. Lives in Lisbon.\n</human>\n</core_memory>")
        assert text.index("</core_memory>") < text.index("<user_memories>") < text.index("tomatoes")
        assert roomy["memory_ids"]

        without = context(300, include=False)
        assert without["block_labels"] == [] and "<core_memory>" not in without["context"]
        tight = context(16)  # not even the block fits beside the empty memories section
        assert tight["block_labels"] == [] and "<core_memory>" not in tight["context"]


def test_another_tenant_never_reads_or_writes_these_blocks(system: RunningSystem) -> None:
    blocks = Blocks(system)
    blocks.append("human", "Private: the code is 4711")
    blocks.get("human")
    other_user = unique("u-")
    bound = issue_key(system.settings, system.app_id, [KeyScope.READ, KeyScope.WRITE], user_id=other_user)
    other_app = issue_key(system.settings, unique("app-"))
    with system.client(bound) as client:
        own = client.get("/v1/blocks/human")  # its own user: the empty default, not the other user's block
        assert own.status_code == 200 and own.json()["value"] == "" and own.json()["user_id"] == other_user
        for method, path, body in (
            ("GET", "/v1/blocks", None),
            ("GET", "/v1/blocks/human", None),
            ("GET", "/v1/blocks/human/history", None),
            ("POST", "/v1/blocks/human/append", {"content": "x"}),
            ("POST", "/v1/blocks/human/replace", {"old": "4711", "new": "0"}),
            ("POST", "/v1/blocks", {"label": "notes"}),
            ("DELETE", "/v1/blocks/human", None),
        ):
            scope = {"user_id": blocks.user}
            if body is None:
                answer = client.request(method, path, params=scope)
            else:
                answer = client.request(method, path, json={**body, **scope})
            assert answer.status_code == 403, (path, answer.text)
            assert "not this credential's user" in answer.json()["detail"]
    with system.client(other_app) as client:
        answer = client.get("/v1/blocks/human", params={"user_id": blocks.user, "app_id": system.app_id})
        assert answer.status_code == 403 and "not this credential's app" in answer.json()["detail"]
        # The other app's own user of the same name has nothing of it.
        same_name = client.get("/v1/blocks/human", params={"user_id": blocks.user})
        assert same_name.status_code == 200 and same_name.json()["value"] == ""
    read_only = issue_key(system.settings, system.app_id, [KeyScope.READ])
    with system.client(read_only) as client:
        answer = client.post("/v1/blocks/human/append", json={"content": "x", "user_id": blocks.user})
        assert answer.status_code == 403 and "lacks the 'memories:write' scope" in answer.json()["detail"]
    assert blocks.get("human")["value"] == "Private: the code is 4711"


def test_the_core_memory_tool_handlers_edit_through_the_pipeline(system: RunningSystem) -> None:
    from api.blocks.tool_handlers import core_memory_append, core_memory_replace
    from api.services import build_services

    user = unique("u-")
    scope = Scope(system.app_id, user)

    async def run() -> list[Any]:
        services = await build_services(system.settings)
        try:
            results: list[Any] = [await core_memory_append(services, scope, {"label": "human", "content": "Likes tea"})]
            await services.consistency.wait(results[0][2])
            results.append(
                await core_memory_replace(services, scope, {"label": "human", "old": "tea", "new": "coffee"})
            )
            for arguments, handler in (
                ({"label": "human"}, core_memory_append),
                ({"label": "Human!", "content": "x"}, core_memory_append),
                ({"label": "human", "content": 3}, core_memory_append),
                ({"label": "human", "old": "tea"}, core_memory_replace),
                ({"label": "human", "old": "milk", "new": "x", "extra": 1}, core_memory_replace),
                ({"label": "human", "old": "milk", "new": "x"}, core_memory_replace),
            ):
                try:
                    await handler(services, scope, arguments)
                except ApiError as error:
                    results.append((error.status_code, error.detail))
            return results
        finally:
            await services.close()

    appended, replaced, *errors = asyncio.run(run())
    text, data, token = appended
    assert text == "Appended to core memory block 'human'. It now reads (9/2000 characters):\nLikes tea"
    assert data["block"]["value"] == "Likes tea" and token == data["consistency_token"]
    assert replaced[0].endswith("It now reads (12/2000 characters):\nLikes coffee")
    assert errors == [
        (422, "core_memory_append: argument 'content' is required"),
        (422, "core_memory_append: argument 'label' must match ^[a-z][a-z0-9_]{0,63}$ (e.g. 'human' or 'persona')"),
        (422, "core_memory_append: argument 'content' must be a string, got int"),
        (422, "core_memory_replace: argument 'new' is required"),
        (422, "core_memory_replace: unknown argument 'extra'; the arguments are label, old, new"),
        (422, "core_memory_replace: 'milk' is not in core memory block 'human'"),
    ]
    blocks = Blocks(system, user)
    blocks.token = replaced[2]
    assert blocks.get("human")["value"] == "Likes coffee"


def test_a_postgres_rebuild_from_the_log_gives_the_same_blocks(system: RunningSystem) -> None:
    blocks = Blocks(system)
    blocks.create("notes", "alpha beta", limit=50)
    blocks.append("human", "Name: Rebuilt")
    blocks.replace("notes", "beta", "gamma")
    blocks.delete("persona")
    blocks.get("notes")
    target = unique("blocks")
    rebuilt = system.cli("replay", "rebuild", "--projection", "postgres", "--target", target)
    assert rebuilt.returncode == 0, rebuilt.stderr
    try:
        diffs = verify(system.settings, "live", target, ("postgres",))
        assert all(d.equal for d in diffs), [d for d in diffs if not d.equal]

        def rows(settings_target: str) -> list[tuple[Any, ...]]:
            dsn = settings_for_target(system.settings, settings_target).postgres_dsn
            with psycopg.connect(dsn) as conn:
                return conn.execute(
                    "SELECT app_id, user_id, agent_id, label, value, char_limit, version, written, updated_at"
                    " FROM core_blocks ORDER BY 1, 2, 3, 4"
                ).fetchall()

        live = rows("live")
        assert live == rows(target)
        mine = [r for r in live if r[1] == blocks.user]
        assert [(r[3], r[4], r[6], r[7]) for r in mine] == [
            ("human", "Name: Rebuilt", 1, True),
            ("notes", "alpha gamma", 2, True),
            ("persona", "", 1, False),
        ]
    finally:
        system.cli("replay", "drop", "--target", target)


def test_commands_the_api_did_not_check_are_decided_by_the_lifecycle_agent_in_order(system: RunningSystem) -> None:
    """Two appends produced straight onto the commands topic (as a racing second API process could), both
    checked against nothing: the agent applies the first and refuses the second with the reason, and a
    redelivered command (the same event again) changes nothing."""
    blocks = Blocks(system)
    blocks.create("notes", "", limit=12)
    blocks.get("notes")
    scope = Scope(system.app_id, blocks.user)
    now = datetime.now(UTC)
    first = new_command(scope, "block_append", now, "tests", text="first 8c", label="notes")
    second = new_command(scope, "block_append", now, "tests", text="second 9", label="notes")
    codec = Codec()
    topic = system.settings.topics.commands
    positions = SyncProducer(make_producer(system.settings)).produce_all(
        [(topic, scope.key.encode(), codec.encode(c)) for c in (first, second, first)]
    )
    blocks.token = encode_token(positions, token_key(system.settings))
    assert blocks.get("notes")["value"] == "first 8c"
    history = blocks.history("notes")
    assert [(e["version"], e["change"]) for e in history] == [(1, "created"), (2, "appended"), (2, "refused")]
    assert history[2]["reason"] == (
        "appending 8 characters to block 'notes' (8 characters now) would exceed its limit of 12 characters"
    )
    assert history[2]["value"] == "first 8c"


def test_no_component_dead_lettered_a_block_event_or_command(system: RunningSystem) -> None:
    """After every test above, the lifecycle agent and all four projectors took every block command and event:
    nothing of this system reached the dead-letter topic."""
    blocks = Blocks(system)
    blocks.append("human", "One more edit, projected by every store")
    blocks.get("human")  # every projector has applied the log up to here
    letters = list(read_dead_letters(system.settings, timeout=5))
    assert letters == [], [(letter.component, letter.reason) for _, letter in letters]


def test_a_models_tool_calls_edit_core_memory_through_the_tools_route(system: RunningSystem) -> None:
    """The tool calls as an OpenAI-compatible model emits them (arguments as JSON text), through POST /v1/tools."""
    blocks = Blocks(system)
    with system.client() as client:

        def call(name: str, arguments: str) -> httpx.Response:
            return client.post(f"/v1/tools/{name}", json={"arguments": arguments, **blocks.scope})

        appended = call("core_memory_append", '{"label": "human", "content": "The user is called Sam."}')
        assert appended.status_code == 200, appended.text
        body = appended.json()
        assert body["name"] == "core_memory_append" and body["consistency_token"]
        assert body["text"].endswith("It now reads (23/2000 characters):\nThe user is called Sam.")
        blocks.token = body["consistency_token"]
        blocks.get("human")
        replaced = call("core_memory_replace", '{"label": "human", "old": "Sam", "new": "Samantha"}')
        assert replaced.status_code == 200, replaced.text
        blocks.token = replaced.json()["consistency_token"]
        assert blocks.get("human")["value"] == "The user is called Samantha."
        missing = call("core_memory_replace", '{"label": "human", "old": "Bob", "new": "Rob"}')
        assert missing.status_code == 422, missing.text
        assert missing.json()["detail"] == "core_memory_replace: 'Bob' is not in core memory block 'human'"
        unknown = call("core_memory_append", '{"label": "diary", "content": "x"}')
        assert unknown.status_code == 422
        assert unknown.json()["detail"].startswith("core_memory_append: core memory block 'diary' does not exist")


def test_a_retried_append_with_its_idempotency_key_appends_once(system: RunningSystem) -> None:
    blocks = Blocks(system)
    body = {"content": "Allergic to peanuts", **blocks.scope}
    headers = {"Idempotency-Key": unique("append-")}
    with system.client() as client:
        first = client.post("/v1/blocks/human/append", json=body, headers=headers)
        again = client.post("/v1/blocks/human/append", json=body, headers=headers)
    assert first.status_code == again.status_code == 202, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    blocks.token = first.json()["consistency_token"]
    assert blocks.get("human")["value"] == "Allergic to peanuts"
    assert [e["change"] for e in blocks.history("human")] == ["appended"]
