"""What every service of the local stack shares: the lifecycle contract, detached processes, Java services.

``Service`` is the contract the orchestrator (``infra/local/stack.py``) drives: install, launch, probe,
stop. ``DetachedService`` is a foreground server we detach ourselves and track with a PID file (Kafka,
Neo4j, Redis, Milvus Lite); PostgreSQL manages its own daemon through ``pg_ctl`` and implements ``Service``
directly. ``JavaService`` adds the jars resolved by Maven from a pom under ``infra/local/maven``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from infra.local.services.common import (
    ServiceStatus,
    StackError,
    cmdline_of,
    find_java,
    log,
    log_mark,
    log_tail,
    pid_alive,
    port_open,
    read_pid,
    run_checked,
    sha256_file,
    spawn,
    terminate,
)
from memory.settings import Settings


class Service:
    """One service of the stack. The orchestrator only calls these methods, in this order: ``apt_packages``
    and ``install`` (idempotent), then ``running_pid`` + ``healthy`` to reuse what already runs, else
    ``launch`` and ``poll_ready`` until ready; ``stop`` and ``status`` any time. A service that already runs
    is first offered to ``adopt``."""

    name = ""
    default_timeout = 60.0
    stop_timeout = 30.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data = settings.data_dir.resolve()
        self.run_dir = self.data / "run"
        self.logs_dir = self.data / "logs"
        self.log_file = self.logs_dir / f"{self.name}.log"
        self.pid_file = self.run_dir / f"{self.name}.pid"
        self._log_offset = 0

    # install
    def apt_packages(self) -> list[str]:
        return []

    def install(self) -> None:
        pass

    # lifecycle
    def endpoint(self) -> str:
        raise NotImplementedError

    def running_pid(self) -> int | None:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def launch(self, timeout: float) -> None:
        raise NotImplementedError

    def stop(self, timeout: float) -> None:
        raise NotImplementedError

    def log_hint(self) -> str:
        return str(self.log_file)

    def log_excerpt(self) -> str:
        return log_tail(self.log_file, self._log_offset)

    def ready_hook(self) -> None:
        """Runs once the service answers (e.g. create roles); must be idempotent."""

    def stale(self) -> bool:
        """True when the running process serves another configuration than these settings want, so the
        orchestrator restarts it instead of reusing it (MirrorMaker 2 mirroring other topics)."""
        return False

    def adopt(self) -> None:
        """Runs before a service found running is probed: brings one that an earlier version of this stack
        started up to what this version configures (e.g. its password), without a restart. Idempotent, and
        harmless while the service is still starting."""

    def poll_ready(self, started: float, timeout: float) -> bool:
        """One readiness probe: True when ready, False to retry, StackError on exit or timeout."""
        pid = self.running_pid()
        if pid is None:
            raise StackError(f"{self.name} exited during start-up; see {self.log_hint()}\n{self.log_excerpt()}")
        if self.healthy():
            self.ready_hook()
            return True
        if time.monotonic() - started > timeout:
            raise StackError(
                f"{self.name} (pid {pid}) not ready after {timeout:.0f}s at {self.endpoint()}; "
                f"see {self.log_hint()}\n{self.log_excerpt()}"
            )
        return False

    def status(self) -> ServiceStatus:
        pid = self.running_pid()
        if pid is None:
            return ServiceStatus(self.name, False, None, self.endpoint(), "not running")
        if self.healthy():
            return ServiceStatus(self.name, True, pid, self.endpoint())
        detail = f"running but not answering; see {self.log_hint()}"
        return ServiceStatus(self.name, False, pid, self.endpoint(), detail)


class DetachedService(Service):
    """A foreground server process we detach ourselves and track with a PID file."""

    cmd_marker = ""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.stdout_file = self.log_file
        self._out_offset = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def launch_env(self) -> dict[str, str]:
        """Environment added for the process (secrets go here, never in ``command``: see ``spawn``)."""
        return {}

    def log_excerpt(self) -> str:
        text = log_tail(self.log_file, self._log_offset)
        if self.stdout_file != self.log_file:
            text += f"\n  {self.stdout_file.name}:\n{log_tail(self.stdout_file, self._out_offset)}"
        return text

    def prepare(self) -> None:
        pass

    def ports(self) -> list[tuple[str, int]]:
        raise NotImplementedError

    def cwd(self) -> Path:
        return self.data

    def running_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid is None or not pid_alive(pid):
            return None
        cmd = cmdline_of(pid)
        # PID reused by something else. An empty command line is not evidence of that: Redis rewrites its
        # argv in place for its process title while starting, and read at that moment it is blank (seen as
        # a "redis exited during start-up" that was not).
        if cmd and cmd.strip() and self.cmd_marker not in cmd:
            return None
        return pid

    def launch(self, timeout: float) -> None:
        self.prepare()
        for host, port in self.ports():
            if port_open(host, port):
                raise StackError(
                    f"cannot start {self.name}: {host}:{port} is already in use by a process this stack "
                    f"did not start (no live PID in {self.pid_file}); stop it or change the port"
                )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._log_offset = log_mark(self.log_file, self.name)
        if self.stdout_file != self.log_file:
            self._out_offset = log_mark(self.stdout_file, self.name)
        pid = spawn(self.command(), self.stdout_file, self.cwd(), self.launch_env())
        self.pid_file.write_text(f"{pid}\n")
        log.info("%s: launched pid %d (log %s)", self.name, pid, self.log_file)

    def stop(self, timeout: float) -> None:
        pid = self.running_pid()
        if pid is not None:
            log.info("%s: stopping pid %d", self.name, pid)
            terminate(pid, timeout, self.name)
        self.pid_file.unlink(missing_ok=True)


class JavaService(DetachedService):
    pom = Path()
    jar_kind = ""

    @property
    def jars(self) -> Path:
        return self.data / "jars" / self.jar_kind

    def apt_packages(self) -> list[str]:
        java = find_java()
        pkgs = []
        if java is None or not (Path(java).resolve().parent / "javac").exists():
            pkgs.append("default-jdk-headless")  # the Neo4j launcher is Java source: needs javac
        if shutil.which("mvn") is None:
            pkgs.append("maven")
        return pkgs

    def install(self) -> None:
        marker = self.jars / ".memstream-jars"
        want = sha256_file(self.pom)
        if marker.exists() and marker.read_text().strip() == want:
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError("mvn not found; install Maven (apt-get install maven)")
        tmp = self.jars.with_name(self.jars.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("%s: resolving jars with Maven into %s", self.name, self.jars)
        run_checked(
            [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(self.pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}",
            ],
            f"mvn copy-dependencies for {self.name}",
        )
        if not any(tmp.glob("*.jar")):
            raise StackError(f"mvn resolved no jars for {self.name} from {self.pom}")
        (tmp / ".memstream-jars").write_text(want + "\n")
        shutil.rmtree(self.jars, ignore_errors=True)
        tmp.rename(self.jars)

    def java(self) -> str:
        java = find_java()
        if java is None:
            raise StackError("java not found; install a JDK 17+ (apt-get install default-jdk-headless)")
        return java

    def classpath(self) -> str:
        if not (self.jars / ".memstream-jars").exists():
            raise StackError(f"{self.name} jars missing in {self.jars}; run: infra/local/stack.py install")
        return f"{self.jars}/*"
