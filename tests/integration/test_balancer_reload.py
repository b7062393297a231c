"""A graceful HAProxy reload loses no request: the real HAProxy (Debian's), started by ``Balancer``, over two small
HTTP servers, reloaded 150 times while four clients send on keep-alive connections, pausing now and then.
Without the reload settings (`-x`, `expose-fd listeners`, `option idle-close-on-response`) this failed 3 of 3 runs
with one request in about 3,000 getting no answer.

The fault this guards against was seen once in 1,746 searches during the scale test's added API process: a request
that got no answer at all while the old HAProxy closed its idle connections and its listening socket.
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from memory.settings import Settings
from memstream_cli.balancer import Balancer, Server

RELOADS = 150
CLIENTS = 4


class Answering(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the API processes answer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        port: int = self.connection.getsockname()[1]
        body = port.to_bytes(4, "big")  # which server answered
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started = [ThreadingHTTPServer(("127.0.0.1", 0), Answering) for _ in range(2)]
    for server in started:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield [Server(f"api-{i}", s.server_address[1]) for i, s in enumerate(started, 1)]
    finally:
        for server in started:
            server.shutdown()
            server.server_close()


def test_requests_through_many_reloads_all_get_an_answer(servers: list[Server], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_port=free_port())
    balancer = Balancer(settings, tmp_path / "balancer.log")
    balancer.start(servers[:1])
    failures: list[str] = []
    answered: list[int] = []
    stopping = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.api_port}", timeout=30) as client:
            while not stopping.is_set():
                try:
                    response = client.post("/v1/memories/search", json={"query": "q"})
                    answered.append(int.from_bytes(response.content, "big") if response.status_code == 200 else 0)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                # Idle for a moment now and then: the fault was a request sent on a connection the reload was closing.
                stopping.wait(random.random() / 500)

    clients = [threading.Thread(target=send, daemon=True) for _ in range(CLIENTS)]
    try:
        balancer.wait_servers({"api-1": "UP"}, timeout=30)
        for thread in clients:
            thread.start()
        pids = {balancer.pid}
        for reload in range(RELOADS):
            seen = len(answered)
            balancer.start(servers[: 1 + reload % 2])  # api-2 joins and leaves, as an added process would join
            pids.add(balancer.pid)
            while len(answered) < seen + 5 and not failures and all(t.is_alive() for t in clients):
                stopping.wait(0.01)  # a few answers from the new HAProxy before the next reload
    finally:
        stopping.set()
        for thread in clients:
            thread.join(timeout=30)
        balancer.stop()
    assert len(pids) == RELOADS + 1  # every reload was a new HAProxy taking over
    assert not failures, f"{len(failures)} of {len(failures) + len(answered)} requests failed: {failures[:3]}"
    assert 0 not in answered, "a request was answered with an error status"
    assert set(answered) == {s.port for s in servers}  # both servers answered across the reloads
