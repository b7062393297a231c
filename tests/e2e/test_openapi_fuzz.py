"""Schemathesis against the live API (real worker, projectors and stores behind it): zero failures.

Every operation of the OpenAPI schema is fuzzed with Schemathesis's default checks: no server error, every
status and body as documented, schema-valid requests accepted and schema-invalid ones refused, an undeclared
method answered 405 with an ``Allow`` header. Per operation its examples, coverage (boundary values, missing
and wrong-typed fields, undeclared methods) and fuzzing phases run; then stateful sequences (a list's ids fed
to the routes that take one).

The schema is the app's own, built at import (no store is needed for that) so that pytest can collect one
test per operation; ``test_the_served_schema_is_the_one_fuzzed`` checks the running API serves exactly it.
Bounded and repeatable: the settings are the project's ``schemathesis.toml`` (a fixed seed, deterministic
generation, a fixed number of examples per operation, no example database), the file ``st run`` reads from
the project root too. A consistency token cannot be made up (memory.contract.positions signs it: a well-formed token
this API did not sign is refused), so a well-formed token the fuzzer drew is sent as a real one, from a write
of this run, the way a client only ever holds tokens the API gave it; malformed ones are sent as drawn.

Every request carries an admin key of the run's app (``BearerKey``, an explicit credential for Schemathesis,
so its ``ignored_auth`` check also sends each operation without it and with a made-up one, expecting 401). A
fuzzed ``DELETE /v1/admin/keys/{prefix}`` that names the fuzzer's own key revokes a spare one instead: the
fuzzer must not lock itself out halfway.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Case, HookContext
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import APIStateMachine

from adapters.settings_loader import load_settings
from api.app import create_app
from api.gateway.key_format import prefix_of
from api.schemas import TOKEN_PATTERN
from memory.contract.positions import MAX_TOKEN_CHARS
from memory.contract.validation import ID_PATTERN
from memory.settings import PROJECT_ROOT, Settings
from tests.e2e.conftest import RunningSystem, running_system
from tests.support import issue_key, unique, wait_until

pytestmark = pytest.mark.e2e

# A read carrying a token waits until the pipeline has passed every write before it (api.consistency), and
# the fuzzer writes hundreds of turns on a shared two-core machine: the default 10 s answered 503 under load.
CONSISTENCY_TIMEOUT_SECONDS = 90.0

STATEFUL_SCENARIOS = 15
STATEFUL_STEPS = 6
OPENAPI = create_app(load_settings()).openapi_schema.to_schema()
schema = schemathesis.openapi.from_dict(
    OPENAPI, config=SchemathesisConfig.from_path(str(PROJECT_ROOT / "schemathesis.toml"))
)
ISSUED: dict[str, str] = {}
CASES: Counter[str] = Counter()
KEYS: dict[str, str] = {}  # "admin": the key every request carries; "spare": revoked in its place
# Answers to requests that carried the fuzzer's key, by status: a 401 among them would mean the run tested nothing.
WITH_KEY: Counter[int] = Counter()


@schemathesis.auth(refresh_interval=None, retry_on=[])  # None: asked on every call, never cached
class BearerKey:
    def get(self, case: Case, context: Any) -> str:
        return KEYS.get("admin", "not-yet")  # examples are drawn at collection, before the system starts

    def set(self, case: Case, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS and re.search(TOKEN_PATTERN, token) is not None


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    CASES[f"{case.method} {case.path}"] += 1  # every request, the stateful sequences' steps included
    if case.method == "DELETE" and case.path_parameters and case.path_parameters.get("prefix") == KEYS["prefix"]:
        case.path_parameters["prefix"] = KEYS["spare"]
    for carrier in (case.query, case.body):
        if isinstance(carrier, dict) and _well_formed(carrier.get("consistency_token")) and "token" in ISSUED:
            carrier["consistency_token"] = ISSUED["token"]


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: Any) -> None:
    if "admin" in KEYS and response.request.headers.get("Authorization") == f"Bearer {KEYS['admin']}":
        WITH_KEY[response.status_code] += 1


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The e2e ``system``, with reads allowed to wait longer for a token's write."""
    logs = tmp_path_factory.mktemp("logs")
    with running_system(stack_settings, logs, consistency_timeout_seconds=CONSISTENCY_TIMEOUT_SECONDS) as running:
        yield running


@pytest.fixture(scope="module")
def fuzzed(system: RunningSystem) -> Iterator[str]:
    """The live API's base URL, once a write's token is applied (reads carrying it then answer at once)."""
    KEYS["admin"] = system.admin_key
    KEYS["prefix"] = str(prefix_of(system.admin_key))
    KEYS["spare"] = str(prefix_of(issue_key(system.settings, system.app_id, name="fuzz spare")))
    with system.client() as client:
        user = unique("fuzz-")
        written = client.post("/v1/memories", json={"user_id": user, "text": "I keep bees.", "infer": False})
        assert written.status_code == 202, written.text
        ISSUED["token"] = written.json()["consistency_token"]
        wait_until(
            lambda: (
                client.get("/v1/memories", params={"user_id": user, "consistency_token": ISSUED["token"]}).is_success
            ),
            timeout=120,
            what="the fuzzer's first write to be applied",
        )
    started = time.monotonic()
    yield system.system.base_url
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {sum(CASES.values())} requests, {len(CASES)} method-path pairs, {elapsed:.0f}s")


def test_the_served_schema_is_the_one_fuzzed(fuzzed: str, system: RunningSystem) -> None:
    with system.client() as client:
        assert client.get("/schema/openapi.json").json() == OPENAPI


@schema.parametrize()
def test_every_operation_meets_its_schema(case: Case, fuzzed: str) -> None:
    case.call_and_validate(base_url=fuzzed)


def fresh_per_scenario(machine: type[APIStateMachine]) -> type[APIStateMachine]:
    """Each scenario acts for one user of its own (no agent) and with idempotency keys of its own.

    Hypothesis replays a scenario's draws (to confirm and shrink it) and requires the replay to enable the same
    rules; the links between steps come from the answers. Answers that depend on what an earlier scenario
    left (a block label it created is a 409 the second time, a key it used with another body a 422) would
    change which links exist, which Hypothesis reports as flaky data generation. A fresh user and fresh keys make
    a scenario's answers depend on its own steps only; one user (and the user's shared blocks) per scenario
    makes a link from a create to an edit name the block that was created, so "created, then not found" is a
    real failure.
    """

    class FreshPerScenario(machine):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            self.scenario = unique("sc")
            self.user = f"{self.scenario}-user"

        def before_call(self, case: Case) -> None:
            carriers: list[object] = [case.query, case.body]
            for carrier in carriers:
                if not isinstance(carrier, dict):
                    continue
                drawn = carrier.get("user_id")
                if isinstance(drawn, str) and re.fullmatch(ID_PATTERN, drawn):
                    carrier["user_id"] = self.user
                if isinstance(carrier.get("agent_id"), str):
                    del carrier["agent_id"]
            key = case.headers.get("Idempotency-Key") if case.headers else None
            if isinstance(key, str) and key:
                case.headers["Idempotency-Key"] = f"{self.scenario}:{key}"[:255]

    return FreshPerScenario


def test_sequences_of_calls_meet_the_schema(fuzzed: str) -> None:
    schema.config.update(base_url=fuzzed)
    machine = fresh_per_scenario(schema.as_state_machine())
    machine.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )


def test_the_fuzzer_was_let_in(fuzzed: str) -> None:
    """Runs last: the requests that carried the admin key were answered, not refused (2xx among them)."""
    assert WITH_KEY[401] == 0, WITH_KEY
    assert sum(n for status, n in WITH_KEY.items() if 200 <= status < 300) > 100, WITH_KEY
