"""Session fixtures. Unit tests need nothing; integration and e2e tests need the local stack.

The stack comes from ``infra/local/stack.py`` (idempotent: reuses running services). Where a Docker engine
exists and ``MEMSTREAM_TEST_STACK=testcontainers``, the same services start as containers instead
(``tests/containers.py``); both paths hand the same ``Settings`` to the same tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from adapters.settings_loader import load_settings
from memory.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    mode = os.environ.get("MEMSTREAM_TEST_STACK", "local")
    if mode == "testcontainers":
        from tests.containers import container_stack

        with container_stack() as settings:
            yield settings
        return
    if mode == "local":
        subprocess.run([sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py"), "start"], check=True)
    yield load_settings()


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from models.embedder import MiniLMOnnxEmbedder

    return MiniLMOnnxEmbedder()
