"""mem0's ``Memory`` in its own virtual environment, driven over stdin/stdout, one JSON object per line.

Started by ``bench.peers.mem0_peer`` as ``<mem0 venv>/bin/python -m bench.peers.mem0_runner CONFIG_JSON`` with
the project root on ``PYTHONPATH``; it imports nothing of memstream but ``bench.peers.netguard`` (standard
library only), and that before mem0, so no import of mem0 can reach the network first.

Requests and answers (``ms``: the mem0 call alone, as code calling mem0 in-process would see it):
    {"op": "add", "messages": [...], "user_id": "...", "metadata": {...}}  -> {"ms": 12.3, "added": 1}
    {"op": "search", "query": "...", "user_id": "...", "top_k": 50, "threshold": 0.1}
                                                                         -> {"ms": 8.1, "hits": [{"dia_id", "score"}]}
    {"op": "stats"}  -> {"outbound_attempts": 0, "refused": [], "versions": {...}}
    {"op": "close"}  -> {"closed": true}, then exit
Any failure answers {"error": "..."} and the runner goes on.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

from bench.peers import netguard

GUARD = netguard.install()  # before anything else can open a socket


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("mem0ai", "qdrant-client", "openai")}


def handle(memory: Any, request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "add":
        started = time.perf_counter()
        result = memory.add(
            request["messages"], user_id=request["user_id"], metadata=request.get("metadata"), infer=False
        )
        return {"ms": (time.perf_counter() - started) * 1000, "added": len(result.get("results", []))}
    if op == "search":
        started = time.perf_counter()
        result = memory.search(
            request["query"],
            top_k=int(request["top_k"]),
            filters={"user_id": request["user_id"]},
            threshold=float(request["threshold"]),
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        hits = [
            {"dia_id": str((hit.get("metadata") or {}).get("dia_id", "")), "score": hit.get("score")}
            for hit in result.get("results", [])
        ]
        return {"ms": elapsed_ms, "hits": hits}
    if op == "stats":
        return {**GUARD.report(), "versions": versions()}
    raise ValueError(f"unknown op {op!r}")


def serve(memory: Any, requests: TextIO, answers: TextIO) -> None:
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("op") == "close":
            answers.write(json.dumps({"closed": True}) + "\n")
            answers.flush()
            return
        try:
            answer = handle(memory, request)
        except Exception as error:  # the parent decides whether a failure ends the run
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    # The protocol owns the real stdout; whatever mem0 or its libraries print goes to stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    config = json.loads(sys.argv[1])
    from mem0 import Memory  # after the guard, deliberately

    memory = Memory.from_config(config)
    answers.write(json.dumps({"ready": True, **GUARD.report()}) + "\n")
    answers.flush()
    serve(memory, sys.stdin, answers)


if __name__ == "__main__":
    main()
