"""Milvus Lite's server binary from the milvus-lite wheel, serving gRPC on loopback."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from infra.local.services.base import DetachedService
from infra.local.services.common import StackError, host_port, port_open
from memory.settings import Settings


class MilvusLite(DetachedService):
    """Milvus Lite's own server binary (shipped in the milvus-lite wheel) serving gRPC on loopback.

    Embedded Milvus Lite holds an exclusive lock on its file, so the projectors, the API and the tests could
    not share one store; served over gRPC they all talk to one instance, exactly as to a Milvus server.
    """

    name = "milvus"
    cmd_marker = "milvus"
    default_timeout = 60.0
    stop_timeout = 15.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = host_port(settings.milvus_uri, 19530)
        self.home = self.data / "milvus"
        self.db_file = self.home / "memstream.db"

    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ports(self) -> list[tuple[str, int]]:
        return [(self.host, self.port)]

    @staticmethod
    def _lib_dir() -> Path:
        spec = importlib.util.find_spec("milvus_lite")
        if spec is None or spec.origin is None:
            raise StackError("milvus-lite is not installed in this Python; run: make setup")
        return Path(spec.origin).parent / "lib"

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        lib = self._lib_dir()
        # The binary finds its shared libraries beside it only through LD_LIBRARY_PATH.
        return [
            "/usr/bin/env",
            f"LD_LIBRARY_PATH={lib}",
            str(lib / "milvus"),
            str(self.db_file),
            f"{self.host}:{self.port}",
            "ERROR",
        ]

    def healthy(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        try:
            from pymilvus import MilvusClient

            MilvusClient(uri=self.endpoint(), timeout=3).list_collections()
            return True
        except ImportError:
            return True  # the port answers; nothing better to ask without the client
        except Exception:
            return False
