"""What the infra tests share: the project's Go checkers (built by ``make iac-tools``) and the API's routes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from memory.settings import PROJECT_ROOT, Settings

TOOLS = PROJECT_ROOT / ".tools" / "bin"


def tool(name: str) -> Path:
    """A checker's binary; its absence fails the test (a skip would pass the suite without the check)."""
    path = TOOLS / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: build the infra checkers with `make iac-tools` (needs Go 1.26+)")
    return path


def run_tool(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(name), *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


def api_routes() -> set[str]:
    """The API's paths. Building the app connects to nothing (stores are reached in its lifespan); the two
    secrets only let it build without a data directory."""
    from api.app import create_app

    app = create_app(Settings(api_key_pepper="p" * 32, token_secret="t" * 32))
    return set(app.route_handler_method_map)
