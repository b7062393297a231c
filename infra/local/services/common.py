"""Shared pieces of the local stack: the error type, the status record, and process, port and log helpers.

Standard library only, so ``infra/local/stack.py`` runs from any Python 3.11 (the project venv is not
required to install or stop services; readiness probes use the drivers only when they are importable).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# infra/local: the maven poms and the Neo4j launcher live there, beside stack.py.
LOCAL_DIR = Path(__file__).resolve().parent.parent

# One logger for the whole stack, whichever module speaks: the CLI prints its messages bare.
log = logging.getLogger("memstream.stack")


class StackError(RuntimeError):
    """A service could not be installed, started or stopped; the message says where to look."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    up: bool
    pid: int | None
    endpoint: str
    detail: str = ""


def host_port(value: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``scheme://host:port/...`` or a comma list of those (first wins)."""
    first = value.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"//{first}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True for a live process; zombies (exited, not yet reaped) count as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that just exited
            return False
    try:
        fields_after_comm = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields_after_comm[0] not in ("Z", "X")


def cmdline_of(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def terminate(pid: int, timeout: float, name: str) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    log.warning("%s (pid %d) ignored SIGTERM for %.0fs; sending SIGKILL", name, pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    raise StackError(f"{name} (pid {pid}) survived SIGKILL")


# Launches argv in a new session via a short-lived intermediate interpreter, so the service is never a child
# of the caller: it outlives the CLI, and a long-running importer (pytest) neither collects zombies nor gets
# "subprocess still running" ResourceWarnings.
_DETACH = (
    "import os, subprocess, sys\n"
    "log = open(sys.argv[1], 'ab', buffering=0)\n"
    "p = subprocess.Popen(sys.argv[3:], cwd=sys.argv[2], stdin=subprocess.DEVNULL, stdout=log,\n"
    "                     stderr=subprocess.STDOUT, start_new_session=True)\n"
    "sys.stdout.write(str(p.pid)); sys.stdout.flush(); os._exit(0)\n"
)


def spawn(argv: Sequence[str], log_file: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    """``env``: variables added to ours for the service; how a secret reaches it without showing in its
    command line, which every user of the machine can read in /proc (the environment only its owner can)."""
    out = subprocess.run(
        [sys.executable, "-c", _DETACH, str(log_file), str(cwd), *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    if out.returncode != 0 or not out.stdout.strip().isdigit():
        raise StackError(f"could not launch {argv[0]}: {out.stderr.strip() or out.stdout.strip()}")
    return int(out.stdout)


def run_checked(
    argv: Sequence[str],
    what: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs ``argv``; a failure raises StackError with its output. Secrets go in ``env`` or ``stdin``, never in
    ``argv``: the message shows the command line."""
    try:
        out = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"{what} failed: {exc}") from exc
    if out.returncode != 0:
        detail = "\n".join(x for x in (out.stdout.strip(), out.stderr.strip()) if x)
        raise StackError(f"{what} failed (exit {out.returncode}): {' '.join(argv)}\n{detail[-3000:]}")
    return out


def write_private(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` readable by its owner only (a config that holds a password), whole or not at
    all: a draft beside it is renamed over it."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.draft")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(draft, 0o600)  # O_CREAT's mode does not apply to a draft left by a crash
    os.replace(draft, path)


def log_mark(path: Path, name: str) -> int:
    """Appends a start banner to a service log and returns the offset where this run's output begins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        fh.write(f"\n===== stack.py: starting {name} at {stamp} =====\n".encode())
        return fh.tell()


def log_tail(path: Path, offset: int = 0, lines: int = 25) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset if offset <= path.stat().st_size else 0)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log output)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join("    " + line for line in tail) if tail else "    (no output in this log since the start)"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find_java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def apt_install(packages: Iterable[str]) -> None:
    pkgs = sorted(set(packages))
    if not pkgs:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"missing system packages; install them: sudo apt-get install -y {' '.join(pkgs)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log.info("apt-get install %s", " ".join(pkgs))
    run_checked(["apt-get", "update"], "apt-get update", env=env)
    run_checked(["apt-get", "install", "-y", "--no-install-recommends", *pkgs], "apt-get install", env=env)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf
