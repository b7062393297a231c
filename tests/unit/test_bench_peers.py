"""The parts of ``bench.peers`` that can fail without a running system: the outbound-connection guard, the
embedding server mem0 is pointed at, and the recall and ratios of a side-by-side run."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from bench.locomo_data import DropReport, EvidenceSet
from bench.peers import compare, netguard
from bench.peers.embedding_server import EmbeddingServer
from models.embedder import MiniLMOnnxEmbedder, OpenAIEmbedder

# TEST-NET-3 (RFC 5737): documentation only, routed nowhere. The guard refuses before any packet is sent.
REMOTE = ("203.0.113.7", 443)


@pytest.fixture
def guard() -> Iterator[netguard.Guard]:
    installed = netguard.install()
    try:
        yield installed
    finally:
        installed.uninstall()


@pytest.mark.parametrize(
    ("host", "local"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("10.0.0.1", False), ("203.0.113.7", False), ("example.com", False), ("", False), (None, False)],
)
def test_only_loopback_addresses_and_names_are_local(host: object, local: bool) -> None:
    assert netguard.is_local_host(host) is local


def test_the_guard_refuses_a_remote_address_and_counts_it(guard: netguard.Guard) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(REMOTE)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError):
        sock.connect_ex(REMOTE)
    assert guard.attempts == 2
    assert guard.report()["refused"] == [repr(REMOTE), repr(REMOTE)]


def test_the_guard_refuses_to_resolve_another_machines_name(guard: netguard.Guard) -> None:
    # What an HTTP client does first: create_connection resolves the name, so no DNS query leaves either.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("telemetry.example.com", 443), timeout=1)
    with pytest.raises(httpx.ConnectError):
        httpx.get("https://example.com/", timeout=1)
    assert guard.attempts == 2


def test_the_guard_lets_loopback_connections_through_and_uninstalls(guard: netguard.Guard) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=5):
            pass
    assert guard.attempts == 0
    assert netguard.install() is guard  # once per process
    guard.uninstall()
    assert socket.socket.connect.__name__ == "connect" and socket.getaddrinfo.__name__ == "getaddrinfo"
    assert netguard.install() is not guard  # a new one
    netguard.install().uninstall()


def test_the_embedding_server_serves_memstreams_vectors_and_counts_llm_calls() -> None:
    embedder = MiniLMOnnxEmbedder(intra_op_threads=1, spinning=False)
    texts = ["I adopted a dog named Rex last week.", "My sister lives in Paris."]
    with EmbeddingServer(embedder) as server:
        # memstream's own OpenAI-compatible client, as mem0's openai embedder calls it.
        remote = OpenAIEmbedder(base_url=server.base_url, api_key="local", model=embedder.model_name, dim=384)
        served = remote.embed(texts)
        refused = httpx.post(f"{server.base_url}/chat/completions", json={"messages": []}, timeout=5)
        wrong_width = httpx.post(
            f"{server.base_url}/embeddings", json={"input": "x", "model": "m", "dimensions": 1536}, timeout=5
        )
    np.testing.assert_allclose(served, embedder.embed(texts), atol=1e-6)
    assert refused.status_code == 503 and wrong_width.status_code == 400
    assert server.counts.llm_calls == 1
    assert server.counts.embed_requests == 1 and server.counts.texts == 2


def evidence(**by_key: tuple[str, ...]) -> EvidenceSet:
    return EvidenceSet({(0, int(k[1:])): ids for k, ids in by_key.items()}, DropReport())


def test_recall_counts_hits_by_the_locomo_evidence_rule() -> None:
    ev = evidence(q0=("D1:1", "D1:2"), q1=("D2:5",))
    categories = {(0, 0): 4, (0, 1): 2}  # single-hop, temporal
    hits = [{"dia_id": "D1:1"}, {"dia_id": "D9:9"}, {"dia_id": None}, {"dia_id": "D1:2"}]
    rankings = {(0, 0): compare.ranking(hits), (0, 1): ["D1:1"] * 10 + ["D2:5"]}
    table = compare.recall(ev, categories, rankings)
    assert compare.ranking(hits) == ["D1:1", "D9:9", "", "D1:2"]
    assert table["single-hop"]["R@5"] == 1.0
    assert table["temporal"]["R@10"] == 0.0 and table["temporal"]["R@25"] == 1.0  # 11th hit: memories count
    assert table["overall"]["R@10"] == 0.5 and table["overall"]["questions"] == 2
    assert (0, 2) not in rankings  # questions never asked are not scored


def test_ratios_and_points_compare_memstream_with_mem0() -> None:
    ours = {"overall": {"R@5": 0.6, "R@10": 0.75, "R@25": 0.9}}
    theirs = {"overall": {"R@5": 0.5, "R@10": 0.6, "R@25": 0.0}}
    comparison = compare.recall_comparison(ours, theirs)
    assert comparison["R@10"] == {"memstream": 0.75, "mem0": 0.6, "points": 15.0, "ratio": 1.25}
    assert comparison["R@25"]["ratio"] is None  # no ratio to zero
    assert compare.latency_ratios({"p50_ms": 5.0, "p95_ms": 9.0}, {"p50_ms": 20.0, "p95_ms": 30.0}) == {
        "p50_ms": 0.25,
        "p95_ms": 0.3,
    }
    table = compare.markdown_table(
        {"memstream": ours, "mem0": theirs},
        {"memstream": {"p50_ms": 5.0, "p95_ms": 9.0}, "mem0": {"p50_ms": 20.0, "p95_ms": 30.0}},
        {"memstream": {"p50_ms": 40.0, "p95_ms": 80.0}, "mem0": {"p50_ms": 20.0, "p95_ms": 40.0}},
    )
    assert "| memstream / mem0 | 0.25x | 0.30x | 2.00x | 2.00x | 1.20x | 1.25x | — |" in table


def test_mem0_is_no_dependency_of_the_project() -> None:
    import tomllib

    from memory.settings import PROJECT_ROOT

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    declared = [*project["dependencies"], *(d for extra in extras for d in extra)]
    assert not [d for d in declared if d.lower().startswith(("mem0", "qdrant"))]


def test_each_turn_reaches_memstream_as_a_request_its_api_accepts() -> None:
    import json
    from datetime import UTC, datetime

    import msgspec

    from api.schemas import AddMemoriesRequest
    from bench.locomo_data import LocomoTurn
    from bench.peers.mem0_locomo import memstream_add_body, turn_message

    said = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    turn = LocomoTurn("conv-26", "D1:3", "Caroline", "I went to a LGBTQ support group.", said)
    body = memstream_add_body(turn, "mem0-side-20261205-110000", infer=False)
    request = msgspec.json.decode(json.dumps(body), type=AddMemoriesRequest)
    assert request.messages is not None and request.messages[0].content == turn.text
    assert request.messages[0].name == "Caroline" and request.metadata == {"dia_id": "D1:3"}
    assert request.infer is False and request.occurred_at == turn.occurred_at
    # mem0 is given the very same message.
    assert turn_message(turn) == {"role": "user", "content": turn.text, "name": "Caroline"}
