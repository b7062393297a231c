"""Refuse every outbound connection that does not stay on this machine, and count the attempts.

Installed first thing in a peer's child process (``bench.peers.mem0_runner``) so that a peer benchmarked
"offline" is offline for certain: a telemetry ping, a model download or an LLM call to a remote host fails at
once instead of leaving the machine, and the count says whether the peer tried. Standard library only: it runs
in the peer's own virtual environment, where nothing of memstream is installed.

Covered: ``socket.socket.connect`` / ``connect_ex`` (what ``create_connection``, urllib, httpx and asyncio all end
in) and ``socket.getaddrinfo`` for a name that is not this machine's (so not even a DNS query goes out). Not
covered: native code that opens sockets without Python's ``socket`` module (gRPC's C core, for one); the peers
run here use none of it in the modes configured.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
MAX_RECORDED = 50  # the first refused addresses, for the report; the count goes on past it


class OutboundConnectionRefused(ConnectionRefusedError):
    """An attempt to reach another machine; a ConnectionRefusedError, so libraries treat it as a network failure."""


def is_local_host(host: object) -> bool:
    """A loopback address or this machine's own name for it; anything unparseable is not local."""
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower()
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def is_local_address(family: int, address: Any) -> bool:
    """Unix sockets are local by nature; an internet socket only to a loopback address."""
    if family == getattr(socket, "AF_UNIX", None):
        return True
    if isinstance(address, tuple) and address:
        return is_local_host(address[0])
    return False


@dataclass
class Guard:
    """The patch in force: how many connections and look-ups it refused, and to where (the first few)."""

    attempts: int = 0
    refused: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _originals: dict[str, Callable[..., Any]] = field(default_factory=dict, repr=False)

    def refuse(self, what: str) -> OutboundConnectionRefused:
        with self._lock:
            self.attempts += 1
            if len(self.refused) < MAX_RECORDED:
                self.refused.append(what)
        return OutboundConnectionRefused(f"netguard: outbound connection to {what} refused (benchmark is offline)")

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {"outbound_attempts": self.attempts, "refused": list(self.refused)}

    def uninstall(self) -> None:
        """Put the originals back (for tests; a child process keeps the guard until it exits)."""
        global _installed
        if "connect" in self._originals:
            socket.socket.connect = self._originals["connect"]  # type: ignore[method-assign]
            socket.socket.connect_ex = self._originals["connect_ex"]  # type: ignore[method-assign]
            socket.getaddrinfo = self._originals["getaddrinfo"]
        self._originals.clear()
        _installed = None


_installed: Guard | None = None


def install() -> Guard:
    """Patch the socket module of this process (once; a second call returns the guard already in force)."""
    global _installed
    if _installed is not None:
        return _installed
    guard = Guard()
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def guarded_connect(sock: Any, address: Any) -> None:
        if not is_local_address(sock.family, address):
            raise guard.refuse(repr(address))
        connect(sock, address)

    def guarded_connect_ex(sock: Any, address: Any) -> int:
        if not is_local_address(sock.family, address):
            raise guard.refuse(repr(address))
        result: int = connect_ex(sock, address)
        return result

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # None is the wildcard address of a server socket (bind), not a look-up of another machine.
        if host is not None and not is_local_host(host.decode() if isinstance(host, bytes) else host):
            raise guard.refuse(repr(host))
        return getaddrinfo(host, *args, **kwargs)

    guard._originals.update(connect=connect, connect_ex=connect_ex, getaddrinfo=getaddrinfo)
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo
    _installed = guard
    return guard
