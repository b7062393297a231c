"""``memstream run``: start the local stack, the Faust worker, the projectors and the API; Ctrl-C stops them.

Services of the stack that were already running are reused and left running; those this command started
are stopped on exit, as are the worker, projector and API processes it spawned (by their own PIDs).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from memory.settings import PROJECT_ROOT, Settings
from memstream_cli.admin_key import AdminKey, ensure_admin_key
from memstream_cli.processes import StartupError, start_system

STACK = [sys.executable, str(PROJECT_ROOT / "infra" / "local" / "stack.py")]


def stack_status() -> dict[str, bool]:
    out = subprocess.run([*STACK, "status", "--json"], capture_output=True, text=True, check=True).stdout
    status: dict[str, bool] = json.loads(out)
    return status


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def shown(path: Path) -> str:
    """The path as the user would type it from here."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def credential_lines(admin: AdminKey | None, base: str) -> list[str]:
    if admin is None:
        return ["  auth:         OFF (MEMSTREAM_AUTH_ENABLED=false): no credential asked, loopback only"]
    if admin.key is None:
        return [f"  API key:      {admin.problem}"]
    path = shown(admin.path)
    return [
        f"  API key:      {admin.key}  (admin of app 'default', kept in {path})",
        f"  try it:       curl -H \"Authorization: Bearer $(cat {path})\" '{base}/v1/memories?user_id=alice'",
    ]


def run(settings: Settings) -> int:
    # Ctrl-C and a plain `kill` both stop cleanly (a background launch may inherit SIGINT as ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    before = stack_status()
    subprocess.run([*STACK, "install"], check=True)
    subprocess.run([*STACK, "start"], check=True)
    started_services = [name for name, up in before.items() if not up]
    admin = ensure_admin_key(settings) if settings.auth_enabled else None
    logs = settings.data_dir / "logs"
    system = start_system(settings, logs)
    base = system.base_url
    try:
        system.wait_ready()
        print(f"memstream is running.\n  API:          {base}\n  OpenAPI docs: {base}/schema/swagger")
        print("\n".join(credential_lines(admin, base)))
        print(f"  produce:      memstream produce examples/conversation.jsonl\n  logs:         {logs}")
        print("Ctrl-C stops everything this command started.", flush=True)
        while True:
            system.check_alive()
            time.sleep(1)
    except StartupError as exc:
        print(f"memstream run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        system.stop()
        if started_services:
            subprocess.run([*STACK, "stop", *started_services], check=False)
