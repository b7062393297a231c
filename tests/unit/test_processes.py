"""The launcher's bookkeeping (memstream_cli/processes.py) and the balancer's configuration, without the stack.

The components' commands are replaced by a sleeping Python, so what is tested is the naming, the aliases, the
ports and the logs of real child processes; the HAProxy configuration is checked by Debian's real haproxy.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from memory.settings import Settings
from memstream_cli import processes
from memstream_cli.balancer import Server, haproxy_binary, render_config
from memstream_cli.instances import UnknownInstance, instance_settings, parse_instance
from memstream_cli.processes import StartupError, System, start_system

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
# The stack's default ports and `memstream mcp --transport http`'s: no instance may take one.
RESERVED = {15432, 16379, 17687, 19092, 19093, 19094, 19102, 19531, 18090}


@pytest.fixture
def sleeping_components(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "COMPONENTS", dict.fromkeys(processes.COMPONENTS, SLEEPER))


def ports_of(settings: Settings, name: str, balanced: bool) -> set[int]:
    own = instance_settings(settings, name, balanced)
    component, _ = parse_instance(name)
    if component == "api":
        return {own.api_port}
    if component == "streams":
        return {own.streams_metrics_port}
    return {own.projections_metrics_port + k for k in range(4)}  # one per store when split (projections.wiring)


def test_nine_instances_of_each_component_use_distinct_ports_clear_of_the_stack() -> None:
    settings = Settings()
    taken: list[int] = [settings.api_port]  # the balancer's
    for component in ("streams", "projections", "api"):
        for index in range(1, 10):
            taken += ports_of(settings, f"{component}-{index}", balanced=True)
    assert len(taken) == len(set(taken)), "two instances share a port"
    assert not set(taken) & RESERVED


def test_one_instance_of_each_keeps_todays_ports_and_zero_stays_none() -> None:
    settings = Settings()
    assert instance_settings(settings, "api-1", balanced_api=False).api_port == settings.api_port
    assert instance_settings(settings, "streams-1", False).streams_metrics_port == settings.streams_metrics_port
    assert instance_settings(settings, "projections-1", False).projections_metrics_port == 18086
    assert instance_settings(settings, "api-2", balanced_api=True).api_port == settings.api_port + 200
    no_metrics = replace(settings, streams_metrics_port=0)
    assert instance_settings(no_metrics, "streams-3", False).streams_metrics_port == 0
    assert instance_settings(settings, "streams-2", False).worker_instance == "streams-2"
    assert instance_settings(settings, "projections-2", False).process_instance == "projections-2"


@pytest.mark.parametrize("name", ["worker-1", "streams-0", "streams-x", "api2"])
def test_unknown_instance_names_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnknownInstance):
        parse_instance(name)
    with pytest.raises(StartupError, match="no such process"):
        System(Settings(data_dir=tmp_path), tmp_path).launch(name)


@pytest.mark.usefixtures("sleeping_components")
def test_a_component_name_stands_for_its_only_instance(tmp_path: Path) -> None:
    system = start_system(Settings(data_dir=tmp_path), tmp_path / "logs", components=("streams", "projections"))
    try:
        first = system.procs["streams-1"]
        assert system.instances("streams") == ["streams-1"] and system.procs["streams"] is first
        assert "streams" in system.procs and "streams-2" not in system.procs
        assert sorted(system.procs) == ["projections-1", "streams-1"]
        assert system.log_path("streams") == tmp_path / "logs" / "streams-1.log"
        assert system.add("streams") == "streams-2"
        assert system.instances("streams") == ["streams-1", "streams-2"]
        assert system.settings_of("streams-2").streams_metrics_port == Settings().streams_metrics_port + 100
        with pytest.raises(KeyError, match="name one"):
            system.procs["streams"]
        with pytest.raises(StartupError, match="name one"):
            system.kill("streams")
        # A killed instance is not a crash; it restarts under its own name, as a new process.
        assert system.kill("streams-1") == -9
        system.check_alive()
        assert system.restart("streams-1").pid != first.pid and system.running("streams") == ["streams-1", "streams-2"]
        with pytest.raises(StartupError, match="still running"):
            system.restart("streams-2")
    finally:
        system.stop()
    assert all(proc.poll() is not None for proc in system.procs.values())


@pytest.mark.usefixtures("sleeping_components")
def test_one_api_process_cannot_grow_without_a_balancer(tmp_path: Path) -> None:
    system = System(Settings(data_dir=tmp_path), tmp_path / "logs")
    system.launch("api")
    try:
        with pytest.raises(StartupError, match="without a balancer"):
            system.add("api")
    finally:
        system.stop()


def test_haproxy_accepts_the_generated_configuration(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_config(settings, [Server("api-1", 18180), Server("api-2", 18280)], tmp_path / "a.sock"))
    checked = subprocess.run([haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = config.read_text()
    for line in ("balance roundrobin", "http-check send meth GET uri /health", "option redispatch 1", "retries 3"):
        assert line in text
    # a reload hands the listening socket over and answers idle connections instead of closing them under a client
    assert "expose-fd listeners" in text and "option idle-close-on-response" in text
    assert "server api-2 127.0.0.1:18280" in text and f"bind 127.0.0.1:{settings.api_port}" in text


def test_the_run_commands_scale_flags_override_the_settings() -> None:
    from memstream_cli.main import build_parser
    from memstream_cli.run import scaled

    args = build_parser().parse_args(["run", "--workers", "3", "--api-processes", "2", "--partitions", "8"])
    base = Settings(projector_processes=2)
    got = scaled(base, args.workers, args.projectors, args.api_processes, args.partitions)
    assert (got.stream_workers, got.projector_processes, got.api_processes, got.kafka_partitions) == (3, 2, 2, 8)
    assert scaled(base) == base  # no flag: the settings stay (MEMSTREAM_STREAM_WORKERS and friends)
    assert Settings.from_env({"MEMSTREAM_STREAM_WORKERS": "4"}).stream_workers == 4
    with pytest.raises(SystemExit, match="at least 1"):
        scaled(base, workers=0)
