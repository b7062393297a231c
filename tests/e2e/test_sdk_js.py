"""The TypeScript SDK (sdk/js) against the live API: its ``node --test`` suite, and its generated types against the
OpenAPI document the running API serves.

The system is this module's own (the ``system`` fixture); the JS tests get its address and credentials from
environment variables: ``MEMSTREAM_URL``, ``MEMSTREAM_API_KEY`` (an app-wide admin key of the test's app) and
``MEMSTREAM_TEST_LIMITED_KEY`` (a key of the same app limited to ``MEMSTREAM_TEST_LIMITED_KEY_RATE`` requests a
minute, for the 429 test). ``make test`` installs the SDK's dependencies (``npm ci``) first; run alone, this
module installs them when ``node_modules`` is missing.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess

import pytest

from memory.settings import PROJECT_ROOT
from tests.e2e.conftest import RunningSystem
from tests.support import issue_key

SDK = PROJECT_ROOT / "sdk" / "js"
GENERATED = SDK / "src" / "generated" / "api.ts"
LIMITED_KEY_RATE = 3


def run(*command: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    executable = shutil.which(command[0])
    assert executable, f"{command[0]} is not on PATH: the JS SDK's tests need Node.js 20+ and npm"
    return subprocess.run(
        [executable, *command[1:]],
        cwd=SDK,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="module")
def built() -> None:
    if not (SDK / "node_modules").is_dir():
        installed = run("npm", "ci", "--no-audit", "--no-fund")
        assert installed.returncode == 0, output(installed)
    build = run("npm", "run", "build")
    assert build.returncode == 0, output(build)


def test_the_sdk_suite_passes_against_the_live_api(system: RunningSystem, built: None) -> None:
    limited = issue_key(system.settings, system.app_id, rate_limit=LIMITED_KEY_RATE, name="sdk-js rate limit")
    env = {
        "MEMSTREAM_URL": system.system.base_url,
        "MEMSTREAM_API_KEY": system.admin_key,
        "MEMSTREAM_TEST_LIMITED_KEY": limited,
        "MEMSTREAM_TEST_LIMITED_KEY_RATE": str(LIMITED_KEY_RATE),
    }
    result = run("npm", "test", env=env)  # TAP: node --test's reporter when its output is not a terminal
    assert result.returncode == 0, output(result)
    # node --test's TAP summary: something ran, and nothing failed, was cancelled or skipped.
    summary = dict(re.findall(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$", result.stdout, re.MULTILINE))
    assert int(summary.get("tests", "0")) > 0 and summary.get("pass") == summary.get("tests"), output(result)


def test_the_generated_types_match_the_running_api(system: RunningSystem, built: None) -> None:
    document = f"{system.system.base_url}/schema/openapi.json"
    result = run("node", "scripts/generate.mjs", document, "--stdout")
    assert result.returncode == 0, output(result)
    committed = GENERATED.read_text()
    if result.stdout != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                result.stdout.splitlines(keepends=True),
                "sdk/js/src/generated/api.ts (committed)",
                "generated from the running API",
            )
        )
        pytest.fail(
            "sdk/js/src/generated/api.ts is not what the API's OpenAPI document generates: run `make run`, then"
            f" `npm run generate` in sdk/js, rebuild and commit it.\n{diff}"
        )
