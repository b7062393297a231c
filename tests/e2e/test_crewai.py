"""The CrewAI integration (``memstream_client.integrations.crewai``) against the live API: its tests, which run in
their own environment (``.venv-crewai``: CrewAI 1.15.30 cannot be installed beside the server), and its example.

The system is this module's own (the ``system`` fixture); the inner tests (sdk/python/tests/crewai) get its
address and credentials from environment variables: ``MEMSTREAM_URL``, ``MEMSTREAM_API_KEY`` (an app-wide admin
key of the test's app) and two users with keys bound to each (``MEMSTREAM_TEST_USER_A``/``_B``,
``MEMSTREAM_TEST_USER_A_KEY``/``_B_KEY``), for the isolation tests. ``make test`` builds the environment first
(``make crewai-env``); run alone, this module builds it when it is missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from api.gateway.principal import Scope as KeyScope
from memory.settings import PROJECT_ROOT
from tests.e2e.conftest import TEST_KEY_RATE_LIMIT, RunningSystem
from tests.support import issue_key, unique

VENV = PROJECT_ROOT / ".venv-crewai"
PYTHON = VENV / "bin" / "python"
INNER_TESTS = PROJECT_ROOT / "sdk" / "python" / "tests" / "crewai"
EXAMPLE = PROJECT_ROOT / "examples" / "crewai_memory.py"


def run(*command: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    # The CrewAI environment's own interpreter: nothing of this (the server's) environment leaks into it.
    inherited = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    return subprocess.run(
        list(command),
        cwd=PROJECT_ROOT,
        env={**inherited, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="module")
def crewai_env() -> None:
    if not (VENV / ".installed").exists():
        built = run("make", "crewai-env")
        assert built.returncode == 0, output(built)


@pytest.fixture(scope="module")
def credentials(system: RunningSystem) -> dict[str, str]:
    users = {"A": unique("crewai-a-"), "B": unique("crewai-b-")}
    env = {"MEMSTREAM_URL": system.system.base_url, "MEMSTREAM_API_KEY": system.admin_key}
    for name, user in users.items():
        env[f"MEMSTREAM_TEST_USER_{name}"] = user
        env[f"MEMSTREAM_TEST_USER_{name}_KEY"] = issue_key(
            system.settings,
            system.app_id,
            scopes=(KeyScope.READ, KeyScope.WRITE),
            user_id=user,
            rate_limit=TEST_KEY_RATE_LIMIT,
            name=f"crewai user {name}",
        )
    return env


@pytest.mark.timeout(900)
def test_the_crewai_suite_passes_against_the_live_api(
    crewai_env: None, credentials: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "crewai-junit.xml"
    result = run(str(PYTHON), "-m", "pytest", str(INNER_TESTS), "-q", "-rfEs", f"--junitxml={report}", env=credentials)
    assert result.returncode == 0, output(result)
    # The JUnit report, not the console (CrewAI prints its own warnings after pytest's summary line): something
    # ran, and nothing failed, errored or was skipped (a skip would hide an untested method).
    root = ElementTree.parse(report).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None, output(result)
    counts = {kind: int(suite.get(kind, "0")) for kind in ("tests", "failures", "errors", "skipped")}
    assert counts["tests"] > 0 and counts["failures"] == counts["errors"] == counts["skipped"] == 0, (
        counts,
        output(result),
    )


def test_the_example_runs_offline_and_recalls_across_runs(crewai_env: None, credentials: dict[str, str]) -> None:
    result = run(str(PYTHON), str(EXAMPLE), env=credentials)
    assert result.returncode == 0, output(result)
    # The second run's prompt carried the first run's answer and the remembered preference, from memstream.
    recalled = result.stdout.split("What CrewAI put in the second run's prompt from memstream:", 1)[-1]
    assert "TP1351 on 14 May" in recalled and "Alice is vegetarian" in recalled, output(result)
