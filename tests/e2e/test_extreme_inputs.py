"""No input reaches the 500 handler: each extreme a tester found gets a 4xx naming the problem, or a documented
clamped result, through the running system (issue 10, point 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningSystem
from tests.support import unique

pytestmark = pytest.mark.e2e

SOME_ID = "6f1c9a52-3d1e-5b8e-9a3c-6d656d737472"
EARLIEST = "1900-01-01T00:00:00Z"
WINDOW_END = "3000-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def client(system: RunningSystem) -> Iterator[httpx.Client]:
    with system.client() as opened:
        yield opened
    assert "unhandled error" not in system.system.log_tail("api", 200_000), "an input reached the 500 handler"


def search(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/v1/memories/search", json={"user_id": unique("u-"), "use_cache": False, **body})


def refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    for word in words:
        assert word in response.text, (word, response.text)


@pytest.mark.parametrize("query", ["what did I do 100000 years ago?", "99999999 days ago", "9" * 1500 + " weeks ago"])
def test_a_count_beyond_the_window_is_the_empty_range_at_its_start(client: httpx.Client, query: str) -> None:
    response = search(client, query=query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results"] == []
    assert body["time_range"]["start"] == body["time_range"]["end"] == EARLIEST


@pytest.mark.parametrize(
    ("query", "reference_time", "edge"),
    [
        ("what happened yesterday", "1900-01-01T00:00:00Z", EARLIEST),
        ("plans next week", "2999-12-31T23:59:59Z", WINDOW_END),
    ],
)
def test_a_relative_expression_at_the_windows_edge_is_cut_there(
    client: httpx.Client, query: str, reference_time: str, edge: str
) -> None:
    response = search(client, query=query, reference_time=reference_time)
    assert response.status_code == 200, response.text
    assert response.json()["time_range"]["start"] == response.json()["time_range"]["end"] == edge


def test_context_reads_a_huge_count_too(client: httpx.Client) -> None:
    response = client.post(
        "/v1/context", json={"user_id": unique("u-"), "query": "99999999 days ago", "max_tokens": 200}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("field", ["as_of", "known_as_of", "reference_time"])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("query", ["yesterday", "next week"])
def test_a_time_outside_the_window_is_refused_by_name(
    client: httpx.Client, field: str, moment: str, query: str
) -> None:
    refused(search(client, query=query, **{field: moment}), 400, f"{field} {moment[:4]}", "is outside")


def test_a_time_written_with_a_space_or_an_offset_without_colon_is_refused(client: httpx.Client) -> None:
    refused(search(client, query="x", as_of="2026-03-01 09:15:00Z"), 400, "RFC 3339", "$.as_of")
    refused(search(client, query="x", filters={"occurred_before": "2026-03-01T09:15:00+0100"}), 400, "occurred_before")


def test_values_of_the_wrong_json_type_are_refused(client: httpx.Client) -> None:
    refused(search(client, query="x", include_archived="true"), 400, "Expected `bool`, got `str`")
    refused(search(client, query="x", as_of=1_700_000_000), 400, "as_of")
    assert search(client, query="x", top_k=5.0).status_code == 200  # JSON Schema: 5.0 is an integer


def test_an_empty_time_window_matches_nothing(client: httpx.Client) -> None:
    window = {"occurred_after": "2026-03-01T00:00:00Z", "occurred_before": "2026-02-01T00:00:00Z"}
    response = search(client, query="x", filters=window)
    assert response.status_code == 200 and response.json()["results"] == [], response.text


@pytest.mark.parametrize(("offset", "status"), [(2**63, 400), (2**64 + 1, 400), (10**6 + 1, 400), (10**6, 200)])
def test_list_offsets_are_bounded(client: httpx.Client, offset: int, status: int) -> None:
    response = client.get("/v1/memories", params={"user_id": unique("u-"), "offset": offset})
    assert response.status_code == status, response.text
    if status == 400:
        assert "offset" in response.text and "1000000" in response.text


@pytest.mark.parametrize("path", ["/v1/memories", f"/v1/memories/{SOME_ID}", f"/v1/memories/{SOME_ID}/history"])
def test_a_nul_in_user_id_is_refused_on_every_get(client: httpx.Client, path: str) -> None:
    refused(client.get(path, params={"user_id": "ali\x00ce"}), 400, "user_id")
    refused(client.get(f"/v1/memories/{SOME_ID}/lineage", params={"user_id": "\x00"}), 400, "user_id")


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/memories"), ("POST", "/v1/memories/search"), ("PUT", f"/v1/memories/{SOME_ID}")]
)
def test_json_nested_100000_deep_is_a_400(client: httpx.Client, method: str, path: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = client.request(method, path, content=deep, headers={"content-type": "application/json"})
    refused(response, 400, "nested too deeply")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/v1/memories", "DELETE, GET, OPTIONS, POST"),
        ("TRACE", "/health", "GET, OPTIONS"),
        ("PUT", "/v1/memories/search", "OPTIONS, POST"),
        ("POST", f"/v1/memories/{SOME_ID}", "DELETE, GET, OPTIONS, PUT"),
    ],
)
def test_an_undeclared_method_is_a_405_with_allow(client: httpx.Client, method: str, path: str, allowed: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert sorted(response.headers["allow"].split(", ")) == allowed.split(", ")
    options = client.options(path)
    assert options.status_code == 204 and options.headers["allow"] == allowed
