"""mem0 itself, as ``bench.peers.mem0_locomo`` runs it: in its own virtual environment (created from PyPI on
first use, then reused), a child process behind the outbound-connection guard, embedding with memstream's MiniLM
through the loopback server. Needs no stack, but PyPI once, for the venv."""

from __future__ import annotations

from pathlib import Path

from bench.peers import compare
from bench.peers.embedding_server import EmbeddingServer
from bench.peers.mem0_peer import Mem0Child, ensure_venv, mem0_config
from models.embedder import MiniLMOnnxEmbedder

TURNS = [
    ("D1:1", "I adopted a dog named Rex last week."),
    ("D1:2", "My sister moved to Paris for her new job."),
    ("D1:3", "We went hiking in the Alps over the summer."),
]


def test_mem0_adds_verbatim_and_searches_offline_with_memstreams_embedder(tmp_path: Path) -> None:
    python = ensure_venv()
    embedder = MiniLMOnnxEmbedder(intra_op_threads=1, spinning=False)
    with EmbeddingServer(embedder) as server:
        config = mem0_config(tmp_path / "store", server.base_url, embedder.model_name, embedder.dim, "test")
        with Mem0Child(python, config, tmp_path / "home", tmp_path / "runner.log") as child:
            assert child.startup["ready"] is True
            for dia_id, text in TURNS:
                added = child.call({"op": "add", "messages": [{"role": "user", "content": text, "name": "Caroline"}],
                                    "user_id": "conv-1", "metadata": {"dia_id": dia_id}})
                assert added.body["added"] == 1 and added.ms > 0
            # Another user's memory must not come back: mem0 filters by user_id.
            child.call({"op": "add", "messages": [{"role": "user", "content": "My dog Rex is a beagle."}],
                        "user_id": "conv-2", "metadata": {"dia_id": "D9:9"}})
            found = child.call({"op": "search", "query": "What pet did Caroline adopt?", "user_id": "conv-1",
                                "top_k": 50, "threshold": 0.1})
            stats = child.request({"op": "stats"})
    ranked = compare.ranking(found.body["hits"])
    assert ranked[0] == "D1:1" and "D9:9" not in ranked
    assert stats["versions"]["mem0ai"] == "2.2.1"
    assert stats["outbound_attempts"] == 0, stats["refused"]
    # Every text mem0 embedded went through memstream's embedder; its LLM was never asked (infer=False).
    assert server.counts.texts >= len(TURNS) + 2 and server.counts.llm_calls == 0


def test_the_guard_refuses_and_counts_what_mem0_sends_out_when_telemetry_is_on(tmp_path: Path) -> None:
    # The benchmark turns telemetry off; on, mem0 phones home (PostHog, its remote notice config) and the guard
    # in the child must stop and count that, or a zero in the benchmark's report would prove nothing.
    python = ensure_venv()
    embedder = MiniLMOnnxEmbedder(intra_op_threads=1, spinning=False)
    with EmbeddingServer(embedder) as server:
        config = mem0_config(tmp_path / "store", server.base_url, embedder.model_name, embedder.dim, "test")
        with Mem0Child(python, config, tmp_path / "home", tmp_path / "runner.log", telemetry=True) as child:
            child.call({"op": "add", "messages": [{"role": "user", "content": "hello"}], "user_id": "u",
                        "metadata": {"dia_id": "D1:1"}})
            stats = child.request({"op": "stats"})
    assert stats["outbound_attempts"] >= 1
    assert all("127.0.0.1" not in address for address in stats["refused"])
