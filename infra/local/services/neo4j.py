"""Embedded Neo4j 5 started by a single-file Java launcher (``infra/local/neo4j/MemstreamNeo4j.java``).

The user ``neo4j`` has the settings' ``neo4j_password``: generated once under ``<data_dir>/secrets/neo4j.password``
unless the settings give one (``adapters.store_credentials``). The launcher gets it in its environment (not
its command line, which every user can read) and sets it whenever it is not the one it set last, so a data
dir from before, with the fixed password of earlier versions, gets the new one at its next launch. A Neo4j
that an earlier stack started and that still runs has its password changed over Bolt (``adopt``).

This module is ``infra.local.services.neo4j``; ``import neo4j`` below is the driver package (imports are
absolute), never this file.
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from infra.local.services.base import JavaService
from infra.local.services.common import LOCAL_DIR, StackError, host_port, log, port_open, recv_exact
from memory.settings import Settings

# The password every data dir had before the stack generated one (and the README printed).
LEGACY_PASSWORD = "memstream-local"
# Where the launcher records the SHA-256 of the password it set last (MemstreamNeo4j.java, AUTH_MARKER).
AUTH_MARKER = "memstream-auth.sha256"


class Neo4j(JavaService):
    name = "neo4j"
    cmd_marker = "MemstreamNeo4j"
    default_timeout = 180.0
    stop_timeout = 30.0
    pom = LOCAL_DIR / "maven" / "neo4j-pom.xml"
    jar_kind = "neo4j"
    launcher = LOCAL_DIR / "neo4j" / "MemstreamNeo4j.java"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = host_port(settings.neo4j_uri, 7687)
        self.home = self.data / "neo4j"
        self.ready_marker = self.home / "memstream-ready"

    def endpoint(self) -> str:
        return f"bolt://{self.host}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [(self.host, self.port)]

    def log_hint(self) -> str:
        return f"{self.log_file} (Neo4j debug log: {self.home / 'logs' / 'debug.log'})"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.ready_marker.unlink(missing_ok=True)

    def command(self) -> list[str]:
        return [
            self.java(),
            "-Xmx768m",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            # Module opens + Netty flag that Neo4j's own launcher passes (no reflective-access fallbacks).
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-cp",
            self.classpath(),
            str(self.launcher),
            str(self.home),
            str(self.port),
        ]

    def launch_env(self) -> dict[str, str]:
        if not self.settings.neo4j_password:
            raise StackError("no Neo4j password: the settings give none and none was generated")
        return {"MEMSTREAM_NEO4J_PASSWORD": self.settings.neo4j_password}

    def adopt(self) -> None:
        """A Neo4j started by an earlier stack still has the fixed password of before: change it to ours."""
        driver_module = _driver()
        if driver_module is None or not self.ready_marker.exists() or not port_open(self.host, self.port):
            return
        wanted = self.settings.neo4j_password
        # Neo4j locks a user for a few seconds after 3 failed logins in a row: at most 1 fails here.
        if not wanted or wanted == LEGACY_PASSWORD or self._accepts(driver_module, wanted) is not False:
            return
        if not self._accepts(driver_module, LEGACY_PASSWORD):
            raise StackError(
                f"neo4j at {self.endpoint()} refuses the password the settings give {self.settings.neo4j_user} (its "
                "file was replaced?) and the fixed one of earlier versions; `infra/local/stack.py restart neo4j` "
                f"sets it again (if it still refuses, delete {self.home / AUTH_MARKER} first)"
            )
        auth = (self.settings.neo4j_user, LEGACY_PASSWORD)
        with driver_module.GraphDatabase.driver(self.endpoint(), auth=auth, connection_timeout=3) as driver:
            driver.execute_query(
                "ALTER CURRENT USER SET PASSWORD FROM $old TO $new", old=LEGACY_PASSWORD, new=wanted, database_="system"
            )
        # What the launcher would have written: its next start then finds the password already set.
        (self.home / AUTH_MARKER).write_text(hashlib.sha256(wanted.encode()).hexdigest() + "\n")
        log.info("neo4j: changed the fixed password of an earlier stack to the generated one")

    def _accepts(self, driver_module: Any, password: str) -> bool | None:
        """True/False: Neo4j accepts/refuses the login; None: it did not answer (still starting)."""
        auth = (self.settings.neo4j_user, password)
        try:
            with driver_module.GraphDatabase.driver(self.endpoint(), auth=auth, connection_timeout=3) as driver:
                driver.verify_connectivity()
                return True
        except driver_module.exceptions.AuthError:
            return False
        except Exception:
            return None

    def healthy(self) -> bool:
        # The launcher writes the marker once the password is set, so we never fail a login mid-start-up.
        if not self.ready_marker.exists() or not port_open(self.host, self.port):
            return False
        neo4j = _driver()
        if neo4j is None:
            return _bolt_handshake(self.host, self.port)
        try:
            auth = (self.settings.neo4j_user, self.settings.neo4j_password)
            with neo4j.GraphDatabase.driver(self.endpoint(), auth=auth, connection_timeout=3) as driver:
                driver.verify_connectivity()
                db = self.settings.neo4j_database
                records = driver.execute_query("RETURN 1 AS ok", database_=db).records
                return bool(records) and records[0]["ok"] == 1
        except Exception:
            return False


def _driver() -> Any:
    """The neo4j driver package, or None outside the project venv (the stack itself needs only the stdlib)."""
    try:
        import neo4j
    except ImportError:
        return None
    return neo4j if hasattr(neo4j, "GraphDatabase") else None  # not a namespace package of that name


def _bolt_handshake(host: str, port: int) -> bool:
    """Stdlib fallback readiness: the server accepts a Bolt 4.4/5.x handshake."""
    proposal = b"\x60\x60\xb0\x17" + b"\x00\x08\x08\x05" + b"\x00\x00\x04\x04" + b"\x00" * 8
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(proposal)
            return recv_exact(sock, 4) != b"\x00" * 4
    except OSError:
        return False
