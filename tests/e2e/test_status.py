"""``memstream status`` against a real running system (its own topics, groups and API): everything up, every consumer
group of the pipeline with its lag per partition, the targets and the dead letters; then the API stopped, and the
command says so with a non-zero exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from memory.settings import PROJECT_ROOT, Settings
from projections.targets import STORES
from tests.e2e.conftest import RunningSystem, free_port, running_system
from tests.support import unique, wait_until


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    logs: Path = tmp_path_factory.mktemp("logs")
    with running_system(stack_settings, logs) as running:
        yield running


def status(system: RunningSystem) -> tuple[int, dict[str, Any]]:
    done = system.cli("status", "--json")
    assert done.stdout, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, report


def test_status_reports_a_running_system_then_the_api_down(system: RunningSystem) -> None:
    user = unique("u-")
    with system.client() as client:
        answer = client.post("/v1/memories", json={"user_id": user, "app_id": system.app_id, "text": "I live in Oslo."})
        assert answer.status_code == 202, answer.text

    settings = system.settings
    groups = {settings.faust_app_id, *(f"{settings.consumer_group_prefix}.projection.{s}" for s in STORES)}

    def caught_up() -> dict[str, Any] | None:
        code, report = status(system)
        lags = report["lag"]
        done = set(lags) == groups and all(sum(p.values()) == 0 for p in lags.values())
        return report if code == 0 and done else None

    # Generous: a cold stack loads the models and creates the groups first; a busy machine slows it, never fails it.
    report = wait_until(caught_up, timeout=600, what="status to show every group caught up")
    assert report is not None
    assert report["healthy"] is True and report["api"] == "ready"
    assert report["services"] == dict.fromkeys(("kafka", "postgres", "neo4j", "redis", "milvus"), "up")
    assert report["targets"] == dict.fromkeys(STORES, "live")
    assert report["dead_letters"] == 0
    # Per partition: the worker reads three topics, the PostgreSQL projection two, the others one.
    assert len(report["lag"][settings.faust_app_id]) == 3 * settings.kafka_partitions
    assert len(report["lag"][f"{settings.consumer_group_prefix}.projection.postgres"]) == 2 * settings.kafka_partitions

    text = system.cli("status")
    assert text.returncode == 0 and "api:          ready" in text.stdout and "dead letters: 0" in text.stdout

    system.system.kill("api")  # our own child process
    code, report = status(system)
    assert code == 1 and report["healthy"] is False and report["api"].startswith("down")
    assert "something is down" in system.cli("status").stderr


def test_status_names_a_store_that_does_not_answer(system: RunningSystem) -> None:
    """The status of a system whose Redis (as this command is told) is a port where nothing listens: down, by name,
    with a non-zero exit; the others still up."""
    nowhere = replace(system.settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    done = subprocess.run(
        [sys.executable, "-m", "memstream_cli.main", "status", "--json"],
        env={**os.environ, **nowhere.to_env()},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["healthy"] is False
    assert report["services"]["redis"].startswith("down: ")
    assert {name: state for name, state in report["services"].items() if name != "redis"} == dict.fromkeys(
        ("kafka", "postgres", "neo4j", "milvus"), "up"
    )
