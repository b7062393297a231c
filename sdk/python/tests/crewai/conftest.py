"""What the CrewAI tests run against: a live memstream API, named by the environment the bridge module
(tests/e2e/test_crewai.py) sets: ``MEMSTREAM_URL``, ``MEMSTREAM_API_KEY`` (an app-wide admin key of a test app),
``MEMSTREAM_TEST_USER_A``/``_B`` with ``MEMSTREAM_TEST_USER_A_KEY``/``_B_KEY`` (keys bound to those two users).

CrewAI's telemetry and tracing are switched off before it is imported, and every connection leaving this machine
is refused: the tests need no network (the LLM is a scripted stand-in, memstream embeds on the server).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

for flag, value in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_TESTING": "true",
}.items():
    os.environ.setdefault(flag, value)

from memstream_client import Memstream  # noqa: E402  (after the flags: CrewAI reads them on import)

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address: Any) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and host not in LOOPBACK:
        raise ConnectionRefusedError(f"the CrewAI tests need no network: refused a connection to {address!r}")
    _connect(sock, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign, assignment]


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run these tests through tests/e2e/test_crewai.py (it starts the API)", 2)
    return value


@pytest.fixture(scope="session")
def admin_key() -> str:
    return required("MEMSTREAM_API_KEY")


@pytest.fixture(scope="session")
def base_url() -> str:
    return required("MEMSTREAM_URL")


@pytest.fixture
def client(base_url: str, admin_key: str) -> Iterator[Memstream]:
    with Memstream(admin_key, base_url=base_url) as memstream:
        yield memstream


@pytest.fixture
def user() -> str:
    """A user of its own for each test: nothing another test stored is there."""
    return f"crewai-user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def crew() -> str:
    return f"crew-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def user_keys() -> dict[str, str]:
    """Two users, each with a key bound to it (the bridge module issued them): user id -> key."""
    return {required(f"MEMSTREAM_TEST_USER_{name}"): required(f"MEMSTREAM_TEST_USER_{name}_KEY") for name in "AB"}
