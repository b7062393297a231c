"""A local stand-in for a remote OpenAI-compatible endpoint, which tests cannot reach from here.

This is the project's ONE fake. It speaks just enough of the OpenAI HTTP API for the real ``openai``
client to talk to it over loopback:

* ``POST /v1/embeddings``: deterministic vectors seeded by sha256(model, text), so equal texts get
  equal vectors; ``dim`` configurable, ``dimensions`` honoured, ``encoding_format`` float or base64.
  Vectors are deliberately *not* unit length (``vector_scale``) so callers must normalise.
* ``POST /v1/chat/completions``: answers with the configured :class:`ChatReply` (scripted JSON
  content, malformed content, an HTTP error status, or a delay to provoke client timeouts).

Every request is recorded (path, headers, parsed JSON body) for assertions.

    standin = OpenAIStandIn(dim=8)
    with standin as base_url:
        ...  # OpenAI(base_url=base_url, api_key="k")
    standin.requests
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ChatReply:
    """What the next chat completion returns: ``content`` with HTTP 200, or an error ``status``."""

    content: str | None = '{"facts": []}'
    status: int = 200
    finish_reason: str = "stop"
    delay_s: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any = field(default=None)


def standin_vector(model: str, text: str, dim: int, scale: float = 1.0) -> list[float]:
    """The vector the stand-in returns for ``text`` (unit length times ``scale``)."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\x00{text}".encode()).digest()[:8], "big")
    vector = np.random.default_rng(seed).standard_normal(dim)
    return [float(x) for x in vector / np.linalg.norm(vector) * scale]


class OpenAIStandIn:
    def __init__(self, *, dim: int = 384, vector_scale: float = 3.0, reverse_order: bool = False) -> None:
        self.dim = dim
        self.vector_scale = vector_scale
        # The API only promises the `index` field, not the order; reversing checks clients use it.
        self.reverse_order = reverse_order
        self.default_chat = ChatReply()
        self._chat_queue: deque[ChatReply] = deque()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration -------------------------------------------------------------------------

    def set_chat(self, reply: ChatReply) -> None:
        """Answer every following chat request with ``reply``."""
        with self._lock:
            self._chat_queue.clear()
            self.default_chat = reply

    def queue_chat(self, *replies: ChatReply) -> None:
        """Answer the next requests with ``replies`` in order, then fall back to the default."""
        with self._lock:
            self._chat_queue.extend(replies)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> str:
        self._closing.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval makes shutdown() (which waits for the serve loop to notice) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="openai-standin",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()  # wakes handlers sleeping in a scripted delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    # -- request handling (called from server threads) ------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_chat(self) -> ChatReply:
        with self._lock:
            return self._chat_queue.popleft() if self._chat_queue else self.default_chat

    def _embeddings(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or "input" not in body:
            return 400, _error("'model' and 'input' are required", "invalid_request_error")
        texts = body["input"]
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
            return 400, _error(
                "'input' must be a non-empty string or list of non-empty strings", "invalid_request_error"
            )
        dim = body.get("dimensions") or self.dim
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = standin_vector(body["model"], text, dim, self.vector_scale)
            embedding: Any = (
                base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode() if as_base64 else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        if self.reverse_order:
            data.reverse()
        tokens = sum(len(t.split()) for t in texts)
        return 200, {
            "object": "list",
            "model": body["model"],
            "data": data,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _chat(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or "messages" not in body:
            return 400, _error("'model' and 'messages' are required", "invalid_request_error")
        reply = self._next_chat()
        if reply.delay_s:
            self._closing.wait(reply.delay_s)
        if reply.status != 200:
            return reply.status, _error(f"stand-in scripted HTTP {reply.status}", "server_error")
        return 200, {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _handler_for(standin: OpenAIStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the openai client (httpx) expects

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = None
            standin._record(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path == "/v1/embeddings":
                status, payload = standin._embeddings(body)
            elif self.path == "/v1/chat/completions":
                status, payload = standin._chat(body)
            else:
                status, payload = 404, _error(f"no route {self.path}", "invalid_request_error")
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean; requests are recorded instead

    return Handler
