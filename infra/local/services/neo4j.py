"""Embedded Neo4j 5 started by a single-file Java launcher (``infra/local/neo4j/MemstreamNeo4j.java``).

This module is ``infra.local.services.neo4j``; ``import neo4j`` below is the driver package (imports are
absolute), never this file.
"""

from __future__ import annotations

import socket

from infra.local.services.base import JavaService
from infra.local.services.common import LOCAL_DIR, host_port, port_open, recv_exact
from memory.settings import Settings


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
            self.settings.neo4j_password,
        ]

    def healthy(self) -> bool:
        # The launcher writes the marker once the password is set, so we never fail a login mid-start-up.
        if not self.ready_marker.exists() or not port_open(self.host, self.port):
            return False
        try:
            import neo4j
        except ImportError:
            return _bolt_handshake(self.host, self.port)
        if not hasattr(neo4j, "GraphDatabase"):  # a namespace package, not the driver
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


def _bolt_handshake(host: str, port: int) -> bool:
    """Stdlib fallback readiness: the server accepts a Bolt 4.4/5.x handshake."""
    proposal = b"\x60\x60\xb0\x17" + b"\x00\x08\x08\x05" + b"\x00\x00\x04\x04" + b"\x00" * 8
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(proposal)
            return recv_exact(sock, 4) != b"\x00" * 4
    except OSError:
        return False
