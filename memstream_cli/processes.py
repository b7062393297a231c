"""Start and stop the pipeline's own processes (Faust workers, projectors, API) with given settings.

Shared by ``memstream run``, the end-to-end tests and the benchmarks, so all three run the same thing.

Each component runs as one or more instances, each a separate process with its own name ("streams-1",
"streams-2", "projections-1", "api-1", ...), its own log file ``<logs>/<name>.log``, its own metrics port and its
own heartbeat file (``Settings.process_instance``; names and ports: memstream_cli/instances.py). Stream workers
and projectors of one system share their consumer groups, so Kafka splits the partitions between them. With more
than one API process, they listen at ``api_port + k * instance_port_stride`` and a local HAProxy
(memstream_cli/balancer.py) balances ``api_port`` over them. A component's bare name ("streams") stands for its
only instance, so code written for one process
per component keeps working::

    system = start_system(settings, logs, workers=3, projectors=2, apis=2)
    system.wait_ready()
    system.kill("streams-2")          # SIGKILL by default; the rest of the group takes its partitions
    system.restart("streams-2")       # the same instance again: same name, ports, log and heartbeat
    system.add("streams")             # the next instance ("streams-4"); an added API joins the balancer
    system.instances("streams")       # ["streams-1", "streams-2", "streams-3", "streams-4"]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from adapters.heartbeat import age_seconds, heartbeat_path
from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.balancer import Balancer, BalancerError, Server
from memstream_cli.instances import Instances, UnknownInstance, instance_name, instance_settings, parse_instance

COMPONENTS: dict[str, list[str]] = {
    # --without-web: the CLI overrides the app's web_enabled, and every worker would bind port 6066. --quiet: no banner
    # on stdout, whose log is JSON lines only (adapters/logs.py).
    "streams": [sys.executable, "-m", "streams", "--quiet", "worker", "--without-web", "--loglevel", "warn"],
    "projections": [sys.executable, "-m", "projections"],
    "api": [sys.executable, "-m", "api"],
}
BALANCER = "balancer"  # the HAProxy's log name


class StartupError(RuntimeError):
    pass


@dataclass
class System:
    settings: Settings
    logs: Path
    procs: Instances = field(default_factory=Instances)
    # Extra environment for every component, e.g. MEMSTREAM_FAULTS for a fault drill (adapters.faults).
    env: dict[str, str] = field(default_factory=dict)
    # More than one API process: they sit behind a local HAProxy on api_port (memstream_cli/balancer.py).
    balanced_api: bool = False
    balancer: Balancer | None = None
    # Instances killed or stopped on purpose: check_alive does not count them as crashed.
    stopped: set[str] = field(default_factory=set)
    launched_at: dict[str, float] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def instances(self, component: str) -> list[str]:
        """The component's instances launched so far (running or not), in order."""
        return self.procs.of(component)

    def running(self, component: str) -> list[str]:
        return [n for n in self.instances(component) if self.procs[n].poll() is None]

    def settings_of(self, name: str) -> Settings:
        """The settings an instance runs with (e.g. for a heartbeat probe run as that process)."""
        return instance_settings(self.settings, self._resolve(name, launched=False), self.balanced_api)

    def api_url(self, name: str) -> str:
        """One API process's own address, past the balancer."""
        s = self.settings_of(name)
        return f"http://{s.api_host}:{s.api_port}"

    def _resolve(self, name: str, launched: bool = True) -> str:
        try:
            return self.procs.resolve(name)
        except KeyError as exc:
            if launched or self.procs.of(name):  # not launched, or an ambiguous component
                raise StartupError(str(exc.args[0] if exc.args else name)) from None
            try:
                component, index = parse_instance(name)
            except UnknownInstance as unknown:
                raise StartupError(str(unknown)) from None
            return instance_name(component, index)

    def log_path(self, name: str) -> Path:
        try:
            resolved = self._resolve(name, launched=False) if name != BALANCER else name
        except StartupError:
            resolved = name
        return self.logs / f"{resolved}.log"

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if name not in self.stopped and proc.poll() is not None:
                raise StartupError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
        if self.balancer is not None and not self.balancer.alive():
            raise StartupError(f"the balancer (haproxy) exited:\n{self.log_tail(BALANCER)}")

    def _answers(self, url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every running API process answers /health, and with a balancer, until HAProxy has each of them
        in rotation and answers on api_port itself."""
        deadline = time.monotonic() + timeout
        apis = self.running("api")  # a system of workers and projectors only has nothing to wait for here
        waiting = [f"{self.api_url(n)}/health" for n in apis] if self.balanced_api else [f"{self.base_url}/health"]
        waiting = waiting if apis else []
        while waiting and time.monotonic() < deadline:
            self.check_alive()
            waiting = [url for url in waiting if not self._answers(url)]
            if waiting:
                time.sleep(0.3)
        if waiting:
            raise StartupError(f"{', '.join(waiting)} not answering after {timeout:.0f}s:\n{self.log_tail('api-1')}")
        if self.balancer is not None:
            try:
                self.balancer.wait_servers(dict.fromkeys(apis, "UP"), max(1.0, deadline - time.monotonic()))
            except BalancerError as exc:
                raise StartupError(f"{exc}\n{self.log_tail(BALANCER)}") from None
            if not self._answers(f"{self.base_url}/health"):
                raise StartupError(f"the balancer at {self.base_url} does not answer:\n{self.log_tail(BALANCER)}")

    def wait_beating(self, timeout: float = 180.0) -> None:
        """Until every running worker and projections process has beaten its heartbeat since it was launched: the
        worker beats once it has joined its group and its loop turns (adapters/heartbeat.py)."""
        deadline = time.monotonic() + timeout
        pending = [n for c in ("streams", "projections") for n in self.running(c)]
        while pending:
            self.check_alive()
            pending = [n for n in pending if not self._beaten_since_launch(n)]
            if pending and time.monotonic() > deadline:
                raise StartupError(f"no heartbeat from {', '.join(pending)} after {timeout:.0f}s")
            time.sleep(0.3)

    def _beaten_since_launch(self, name: str) -> bool:
        component, _ = parse_instance(name)
        age = age_seconds(heartbeat_path(self.settings_of(name), component))
        return age is not None and time.time() - age >= self.launched_at.get(name, 0.0) - 1.0

    def launch(self, name: str) -> subprocess.Popen[bytes]:
        """Start one instance (a component's bare name: its only or first instance) with this system's settings,
        appending to its log."""
        resolved = self._resolve(name, launched=False)
        component, _ = parse_instance(resolved)
        own = instance_settings(self.settings, resolved, self.balanced_api)
        self.logs.mkdir(parents=True, exist_ok=True)
        with self.log_path(resolved).open("ab") as handle:
            proc = subprocess.Popen(
                COMPONENTS[component],
                env={**os.environ, **own.to_env(), **self.env},
                cwd=PROJECT_ROOT,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        self.procs[resolved] = proc
        self.stopped.discard(resolved)
        self.launched_at[resolved] = time.time()
        return proc

    def add(self, component: str) -> str:
        """Launch the component's next instance and return its name; an API process joins the balancer (HAProxy is
        replaced gracefully with a configuration naming it)."""
        if component not in COMPONENTS:
            raise StartupError(f"no component {component!r}; one of {', '.join(COMPONENTS)}")
        existing = self.instances(component)
        if component == "api" and existing and not self.balanced_api:
            raise StartupError("this system runs one API process on api_port, without a balancer: start it with 2+")
        name = instance_name(component, parse_instance(existing[-1])[1] + 1 if existing else 1)
        self.launch(name)
        if component == "api" and self.balanced_api:
            self.start_balancer()
        return name

    def start_balancer(self) -> None:
        """HAProxy on api_port over every API instance launched so far (a running one is replaced)."""
        if self.balancer is None:
            self.balancer = Balancer(self.settings, self.log_path(BALANCER))
        servers = [Server(n, self.settings_of(n).api_port) for n in self.instances("api")]
        try:
            self.balancer.start(servers)
        except BalancerError as exc:
            raise StartupError(str(exc)) from None

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int:
        """Send ``sig`` to one instance and wait for it to exit; returns its exit code."""
        resolved = self._resolve(name)
        proc = self.procs[resolved]
        self.stopped.add(resolved)
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout=timeout)

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Relaunch one instance (stopped or killed before) with the same name, settings, ports and log."""
        resolved = self._resolve(name)
        proc = self.procs[resolved]
        if proc.poll() is None:
            raise StartupError(f"{resolved} is still running (pid {proc.pid}); kill it first")
        return self.launch(resolved)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every process this system started (by its own pid), SIGKILL those that outlast ``timeout``;
        the balancer first, so nothing new reaches a stopping API process."""
        if self.balancer is not None:
            self.balancer.stop()
        self.stopped.update(self.procs)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_system(
    settings: Settings,
    logs: Path,
    components: tuple[str, ...] = tuple(COMPONENTS),
    env: dict[str, str] | None = None,
    workers: int | None = None,
    projectors: int | None = None,
    apis: int | None = None,
) -> System:
    """Launch ``components``, each with its count of instances (default: the settings' stream_workers,
    projector_processes and api_processes); with two or more API processes, HAProxy in front of them."""
    counts = {
        "streams": settings.stream_workers if workers is None else workers,
        "projections": settings.projector_processes if projectors is None else projectors,
        "api": settings.api_processes if apis is None else apis,
    }
    for component in components:
        if component not in COMPONENTS:
            raise StartupError(f"no component {component!r}; one of {', '.join(COMPONENTS)}")
        if counts[component] < 1:
            raise StartupError(f"{component}: at least one process, not {counts[component]}")
    system = System(settings, logs, env=dict(env or {}), balanced_api="api" in components and counts["api"] > 1)
    try:
        for component in components:
            for index in range(1, counts[component] + 1):
                system.launch(instance_name(component, index))
        if system.balanced_api:
            system.start_balancer()
    except BaseException:
        system.stop()
        raise
    return system
