"""mem0 as a peer: its virtual environment (created once, reused) and its child process.

mem0 is never a dependency of memstream: ``ensure_venv`` creates ``.data/peers/mem0-venv`` with the pinned
``mem0ai`` from PyPI, and ``Mem0Child`` runs ``bench.peers.mem0_runner`` there. Only what ``mem0ai`` installs by
itself is there: its optional BM25 keyword scoring (``fastembed``, whose ``Qdrant/bm25`` files come from a model
hub) and its spaCy lemmatiser and entity extraction (``en_core_web_sm``, downloaded on first use) cannot be had
offline, so mem0 scores semantically, as its plain ``pip install mem0ai`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from memory.settings import PROJECT_ROOT

# Pinned: the figures are mem0 2.2.1's, with the Qdrant client it resolved to when they were measured.
REQUIREMENTS = ("mem0ai==2.2.1", "qdrant-client==1.20.0")
DEFAULT_VENV = PROJECT_ROOT / ".data" / "peers" / "mem0-venv"
MARKER = ".installed"  # holds the requirements the venv was made with; another list means reinstall
EMBEDDING_DIM_FIELD = "embedding_dims"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path = DEFAULT_VENV, requirements: tuple[str, ...] = REQUIREMENTS) -> Path:
    """The venv's python, after creating the venv and installing ``requirements`` unless already done."""
    marker = venv / MARKER
    wanted = "\n".join(requirements) + "\n"
    if marker.is_file() and marker.read_text() == wanted and venv_python(venv).exists():
        return venv_python(venv)
    print(f"creating the mem0 environment in {venv} ({', '.join(requirements)}) ...", flush=True)
    if not venv_python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
    )
    marker.write_text(wanted)
    return venv_python(venv)


def installed_versions(python: Path) -> list[str]:
    """``pip freeze`` of the venv, for the results file."""
    out = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    return out.split()


def mem0_config(store: Path, embeddings_url: str, model: str, dim: int, collection: str) -> dict[str, Any]:
    """``Memory.from_config``: local on-disk Qdrant (embedded, no server), the OpenAI-compatible embedder at
    ``embeddings_url`` (memstream's model), history in SQLite beside the store, and the LLM pointed at the
    same loopback server, which counts any call and refuses it."""
    return {
        "vector_store": {
            "provider": "qdrant",
            "config": {
                "collection_name": collection,
                "embedding_model_dims": dim,
                "path": str(store / "qdrant"),
                "on_disk": True,
            },
        },
        "embedder": {
            "provider": "openai",
            "config": {"model": model, "api_key": "local", "openai_base_url": embeddings_url, EMBEDDING_DIM_FIELD: dim},
        },
        "llm": {
            "provider": "openai",
            "config": {"model": "never-called", "api_key": "local", "openai_base_url": embeddings_url},
        },
        "history_db_path": str(store / "history.db"),
    }


def child_env(home: Path, telemetry: bool = False) -> dict[str, str]:
    """No telemetry (which also silences mem0's remote notices; ``telemetry`` only to show the guard at work),
    mem0's home in the run's directory, the project root importable for the runner and the guard, and no
    credentials of this shell."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        MEM0_TELEMETRY=str(telemetry),
        MEM0_DIR=str(home),
        HOME=str(home),
        PYTHONPATH=str(PROJECT_ROOT),
        PYTHONUNBUFFERED="1",
        HF_HUB_OFFLINE="1",
    )
    return env


@dataclass(frozen=True)
class Mem0Call:
    ms: float  # the mem0 call inside the child
    round_trip_ms: float  # with the pipe both ways, as the parent saw it
    body: dict[str, Any]


class Mem0Child:
    """The runner process; each request waits for its answer (mem0's ``add`` and ``search`` are synchronous)."""

    def __init__(self, python: Path, config: dict[str, Any], home: Path, log: Path, telemetry: bool = False) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self._proc = subprocess.Popen(
            [str(python), "-m", "bench.peers.mem0_runner", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=child_env(home, telemetry),
            cwd=str(home),
        )
        self.startup = self._read()  # {"ready": true, ...} once Memory is built

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(timeout=10)
            raise RuntimeError(f"mem0 runner exited ({self._proc.returncode}); see {self._log.name}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(body) + "\n")
        self._proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"mem0 {body.get('op')} failed: {answer['error']}")
        return answer

    def call(self, body: dict[str, Any]) -> Mem0Call:
        started = time.perf_counter()
        answer = self.request(body)
        return Mem0Call(float(answer["ms"]), (time.perf_counter() - started) * 1000, answer)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self.request({"op": "close"})
                self._proc.wait(timeout=30)
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def __enter__(self) -> Mem0Child:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
