"""One request followed through the JSON-line logs of the real API, stream worker and projectors (adapters/logs.py):
the id the caller sent comes back in ``X-Request-Id``, names the API's line for the request, is the events'
``correlation_id``, and appears in the batch lines of every agent and projector that handled them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.faults import ENV_VAR
from api.gateway.principal import Scope as KeyScope
from memory.settings import Settings
from tests.e2e.conftest import RunningSystem, running_system
from tests.support import issue_key, unique, wait_until

AGENTS = ("streams.extraction", "streams.embedding", "streams.lifecycle")
POISON = "a-turn-the-extractor-always-fails-on"
PROJECTORS = ("projection.postgres", "projection.milvus", "projection.neo4j", "projection.redis")


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    logs: Path = tmp_path_factory.mktemp("logs")
    # A turn holding POISON fails extraction (adapters/faults.py) and is dead-lettered: the line saying so must name it.
    with running_system(stack_settings, logs, env={ENV_VAR: f"extraction.turn~{POISON}"}) as running:
        yield running


def json_lines(system: RunningSystem, process: str) -> list[dict[str, Any]]:
    """The process's log as JSON objects; any line that is not one fails the test (a process logging plain text)."""
    path = system.system.log_path(process)  # "streams" is the only worker, streams-1
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{process}.log has a line that is not JSON: {line[:300]!r}")
    return parsed


def naming(lines: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [
        line for line in lines if line.get("request_id") == request_id or request_id in line.get("correlation_ids", ())
    ]


def test_one_request_id_is_followed_through_every_process(system: RunningSystem) -> None:
    request_id = unique("req-")
    user = unique("u-")
    with system.client() as client:
        answer = client.post(
            "/v1/memories",
            json={"user_id": user, "app_id": system.app_id, "text": "I play the cello in a community orchestra."},
            headers={"X-Request-Id": request_id},
        )
        assert answer.status_code == 202, answer.text
        assert answer.headers["x-request-id"] == request_id

    def components_naming_it() -> set[str] | None:
        worker = {line.get("component") for line in naming(json_lines(system, "streams"), request_id)}
        projectors = {line.get("component") for line in naming(json_lines(system, "projections"), request_id)}
        found = {c for c in worker | projectors if isinstance(c, str)}
        return found if found >= {*AGENTS, *PROJECTORS} else None

    wait_until(components_naming_it, timeout=120, what=f"every agent and projector to log {request_id}")
    api_lines = naming(json_lines(system, "api"), request_id)
    assert [(line["method"], line["route"], line["status"]) for line in api_lines] == [("POST", "/v1/memories", 202)]
    for line in api_lines:
        assert line["process"] == "api" and line["level"] == "INFO" and line["ts"].endswith("+00:00")


def test_a_request_without_an_id_gets_one_and_an_unfit_one_is_replaced(system: RunningSystem) -> None:
    unfit = ('x" "level": "ERROR', "a" * 129)  # what could forge a field of a log line, or bloat every line
    with system.client() as client:
        fresh = client.get("/health").headers["x-request-id"]
        replaced = [client.get("/health", headers={"X-Request-Id": bad}).headers["x-request-id"] for bad in unfit]
    assert len({fresh, *replaced}) == 3
    assert not set(unfit) & set(replaced)
    ids = {line.get("request_id") for line in json_lines(system, "api")}
    assert {fresh, *replaced} <= ids


def test_a_dead_lettered_turn_names_its_request_in_the_workers_line(system: RunningSystem) -> None:
    request_id = unique("req-")
    with system.client() as client:
        answer = client.post(
            "/v1/memories",
            json={"user_id": unique("u-"), "app_id": system.app_id, "text": f"Remember {POISON}."},
            headers={"X-Request-Id": request_id},
        )
        assert answer.status_code == 202, answer.text

    def dead_letter_line() -> dict[str, Any] | None:
        lines = naming(json_lines(system, "streams"), request_id)
        return next((line for line in lines if "dead-lettering" in line["msg"]), None)

    line = wait_until(dead_letter_line, timeout=120, what=f"the worker's dead-letter line naming {request_id}")
    assert line is not None
    assert line["level"] == "WARNING" and line["component"] == "streams.extraction"
    assert line["correlation_ids"] == [request_id] and POISON in line["msg"]


def test_refused_requests_carry_their_id_and_are_logged_with_it(system: RunningSystem) -> None:
    user = unique("u-")
    reader = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), user_id=user)
    limited = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), user_id=user, rate_limit=1)
    ids = {status: unique(f"req-{status}-") for status in (401, 403, 429, 404)}
    with system.client("not-a-key") as client:
        unauthenticated = client.get("/v1/memories", headers={"X-Request-Id": ids[401]})
        unknown_path = client.get("/v1/nothing/here", headers={"X-Request-Id": ids[404]})
    with system.client(reader) as client:
        forbidden = client.post(
            "/v1/memories",
            json={"user_id": user, "app_id": system.app_id, "text": "a reader may not write"},
            headers={"X-Request-Id": ids[403]},
        )
    with system.client(limited) as client:
        assert client.get("/v1/memories").status_code == 200  # the key's one request this minute
        refused = client.get("/v1/memories", headers={"X-Request-Id": ids[429]})
    answers = {401: unauthenticated, 403: forbidden, 429: refused, 404: unknown_path}
    assert {status: a.status_code for status, a in answers.items()} == {s: s for s in answers}
    assert {status: a.headers.get("x-request-id") for status, a in answers.items()} == ids

    def logged() -> dict[int, tuple[str, int]] | None:
        lines = json_lines(system, "api")
        found = {
            status: (line["route"], line["status"])
            for status, request_id in ids.items()
            for line in naming(lines, request_id)
            if "route" in line
        }
        return found if len(found) == len(ids) else None

    found = wait_until(logged, timeout=10, what="the API's line for each refused request")
    assert found == {
        401: ("/v1/memories", 401), 403: ("/v1/memories", 403), 429: ("/v1/memories", 429), 404: ("unmatched", 404)
    }
