"""memstream's own embedder behind an OpenAI-compatible ``/v1/embeddings`` on the loopback, for a peer.

mem0 configures its embedder by provider; its ``openai`` provider with ``openai_base_url`` pointing here makes
it embed with exactly the model, tokenizer and pooling memstream uses (``models.build_embedder``), instead of a
re-implementation in the peer's environment that could drift. The server also answers
``/v1/chat/completions`` with 503 and counts the calls: the peer's LLM is configured to this address, so "its
LLM was never called" is a measured zero, not an assumption.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from models.embedder import Embedder


@dataclass
class ServerCounts:
    embed_requests: int = 0
    texts: int = 0
    embed_ms: list[float] = field(default_factory=list)  # inside the embedder, per request
    llm_calls: int = 0
    other_requests: int = 0


def embeddings_response(embedder: Embedder, body: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``CreateEmbeddingResponse`` for a request body (``input``: a string or a list of them)."""
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else list(raw or [])
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("input must be a string or a non-empty list of strings (token ids are not served)")
    dimensions = body.get("dimensions")
    if dimensions is not None and int(dimensions) != embedder.dim:
        raise ValueError(f"this embedder has {embedder.dim} dimensions, not {dimensions}")
    vectors = embedder.embed(texts)
    words = sum(len(t.split()) for t in texts)
    return {
        "object": "list",
        "model": embedder.model_name,
        "data": [{"object": "embedding", "index": i, "embedding": row.tolist()} for i, row in enumerate(vectors)],
        # Word counts, not tokens: nobody bills this, the client's model only requires the fields.
        "usage": {"prompt_tokens": words, "total_tokens": words},
    }


class EmbeddingServer:
    """A threaded HTTP server on 127.0.0.1 (a free port), running until the ``with`` block ends."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.counts = ServerCounts()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedding-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> EmbeddingServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the peer's client reuses one connection
            # Headers and body leave as two writes; with Nagle and the client's delayed ACK, the body would wait
            # ~40 ms for the ACK of the headers, on every embedding, and that would be counted as mem0's time.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per embedding would drown the benchmark's output

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                payload = self.rfile.read(length)
                if self.path.rstrip("/").endswith("/embeddings"):
                    self._embeddings(payload)
                elif self.path.rstrip("/").endswith("/chat/completions"):
                    with server._lock:
                        server.counts.llm_calls += 1
                    self._reply(503, {"error": {"message": "the benchmark runs the peer with infer=False: no LLM"}})
                else:
                    with server._lock:
                        server.counts.other_requests += 1
                    self._reply(404, {"error": {"message": f"no {self.path} here"}})

            def _embeddings(self, payload: bytes) -> None:
                started = time.perf_counter()
                try:
                    body = embeddings_response(server.embedder, json.loads(payload))
                except (ValueError, TypeError) as error:
                    self._reply(400, {"error": {"message": str(error)}})
                    return
                elapsed_ms = (time.perf_counter() - started) * 1000
                with server._lock:
                    server.counts.embed_requests += 1
                    server.counts.texts += len(body["data"])
                    server.counts.embed_ms.append(elapsed_ms)
                self._reply(200, body)

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
