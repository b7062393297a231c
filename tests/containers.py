"""The test stack as throw-away containers, for machines that have a Docker engine.

``tests/conftest.py`` uses this when ``MEMSTREAM_TEST_STACK=testcontainers``: Kafka (KRaft), Neo4j, PostgreSQL,
Redis and Milvus start on random host ports, the tests get ``Settings`` pointing at them, and everything is
removed afterwards (testcontainers' reaper also removes them if the test process dies).

Images follow ``infra/compose/compose.yaml`` (a unit test keeps them in step). Kafka is ``apache/kafka`` with the
local stack's own security configuration (``infra.local.services.kafka.security_properties``): every listener
authenticates, the pipeline's principal and its password are those of ``load_settings``, and the producer door
(SCRAM, ACLs) is there for the tests that knock on it. Its listeners use the same port number inside the
container and on the host, so the addresses it advertises are the ones the tests reach.

Milvus: by default the Milvus standalone server in a container (``MilvusContainer``: embedded etcd, local
storage), the same server that compose and real deployments run; the ``local`` stack already covers Milvus Lite,
so this mode is where the real server gets tested. ``MEMSTREAM_TEST_MILVUS=lite`` serves Milvus Lite from the venv
over gRPC instead, for Docker hosts too small for the Milvus image (it needs ~2 GB of memory).

Closed like the local stack: PostgreSQL (SCRAM for TCP and the socket), Redis (``requirepass``) and Neo4j get
passwords of their own, random for each run, and the settings handed to the tests carry them.

testcontainers is imported inside ``container_stack`` so importing this module needs neither it nor Docker.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from adapters.settings_loader import load_settings
from memory.credentials import with_password
from memory.settings import Settings

KAFKA_IMAGE = "apache/kafka:4.1.1"
NEO4J_IMAGE = "neo4j:5.26.12-community"
POSTGRES_IMAGE = "postgres:15"
REDIS_IMAGE = "redis:7"
MILVUS_IMAGE = "milvusdb/milvus:v2.5.14"

STARTUP_TIMEOUT_S = 180
MilvusMode = Literal["container", "lite"]
MILVUS_MODES: tuple[MilvusMode, ...] = ("container", "lite")


def milvus_mode_from_env(environ: Mapping[str, str] | None = None) -> MilvusMode:
    env = os.environ if environ is None else environ
    value = env.get("MEMSTREAM_TEST_MILVUS", "container")
    for mode in MILVUS_MODES:
        if value == mode:
            return mode
    raise ValueError(f"MEMSTREAM_TEST_MILVUS must be one of {MILVUS_MODES}, not {value!r}")


@dataclass(frozen=True)
class StorePasswords:
    """Random for each run of the throw-away containers; never printed."""

    postgres: str
    redis: str
    neo4j: str

    @classmethod
    def random(cls) -> StorePasswords:
        return cls(postgres=secrets.token_hex(24), redis=secrets.token_hex(24), neo4j=secrets.token_hex(24))

    def __repr__(self) -> str:
        return "StorePasswords(***)"


def stack_settings(
    base: Settings,
    *,
    kafka_bootstrap: str,
    neo4j_uri: str,
    postgres_dsn: str,
    redis_url: str,
    milvus_uri: str,
    passwords: StorePasswords,
    kafka_producer_bootstrap: str = "",
) -> Settings:
    """``base`` pointed at the given endpoints with their passwords (never the local stack's, which ``base`` may
    carry); everything else stays as in ``base``."""
    return replace(
        base,
        kafka_bootstrap=kafka_bootstrap,
        kafka_producer_bootstrap=kafka_producer_bootstrap,
        neo4j_uri=neo4j_uri,
        neo4j_password=passwords.neo4j,
        postgres_dsn=with_password(postgres_dsn, passwords.postgres),
        postgres_password=passwords.postgres,
        redis_url=with_password(redis_url, passwords.redis),
        redis_password=passwords.redis,
        milvus_uri=milvus_uri,
    )


@contextmanager
def container_stack(base: Settings | None = None, milvus: MilvusMode | None = None) -> Iterator[Settings]:
    """Start the stores, yield ``Settings`` for them, stop and remove them on exit (also on errors)."""
    from testcontainers.community.neo4j import Neo4jContainer
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.community.redis import RedisContainer

    settings = base or load_settings()
    mode = milvus or milvus_mode_from_env()
    passwords = StorePasswords.random()

    with ExitStack() as stack:
        # Each stop is registered before its start, so a failed start still removes what it created.
        kafka_bootstrap, kafka_producer_bootstrap = _start_kafka(stack, settings)

        neo4j = Neo4jContainer(NEO4J_IMAGE, username=settings.neo4j_user, password=passwords.neo4j)
        neo4j.with_env("NEO4J_server_memory_pagecache_size", "128M")
        neo4j.with_env("NEO4J_server_memory_heap_max__size", "512M")
        neo4j.with_env("NEO4J_dbms_usage__report_enabled", "false")
        stack.callback(neo4j.stop)
        neo4j.start()

        postgres = PostgresContainer(
            POSTGRES_IMAGE, username="memstream", password=passwords.postgres, dbname="memstream", driver=None
        )
        # As in compose.yaml: a password for every connection, the Unix socket included.
        postgres.with_env("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256")
        postgres.with_env("POSTGRES_INITDB_ARGS", "--auth-local=scram-sha-256 --auth-host=scram-sha-256")
        stack.callback(postgres.stop)
        postgres.start()

        redis = RedisContainer(REDIS_IMAGE, password=passwords.redis)
        stack.callback(redis.stop)
        redis.start()

        milvus_uri = _start_milvus_container(stack) if mode == "container" else _start_milvus_lite(stack)

        yield stack_settings(
            settings,
            kafka_bootstrap=kafka_bootstrap,
            kafka_producer_bootstrap=kafka_producer_bootstrap,
            neo4j_uri=neo4j.get_connection_url(),
            postgres_dsn=postgres.get_connection_url(driver=None),
            redis_url=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(redis.port)}/0",
            milvus_uri=milvus_uri,
            passwords=passwords,
        )


def _start_kafka(stack: ExitStack, settings: Settings) -> tuple[str, str]:
    """apache/kafka secured like the local stack; returns the internal and the producer listener's address."""
    from confluent_kafka.admin import AdminClient
    from testcontainers.core.container import DockerContainer

    from adapters.kafka_auth import client_config
    from infra.local.services.kafka import security_properties

    internal, producer = _free_port(), _free_port()
    kafka = DockerContainer(KAFKA_IMAGE)
    # The Docker host, known before the container starts: it goes into the advertised listeners.
    host = kafka.get_docker_client().host()
    listen = {"INTERNAL": f"0.0.0.0:{internal}", "CONTROLLER": "0.0.0.0:9093", "PRODUCER": f"0.0.0.0:{producer}"}
    advertise = {"INTERNAL": f"{host}:{internal}", "CONTROLLER": "localhost:9093", "PRODUCER": f"{host}:{producer}"}
    properties = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": "1@localhost:9093",
        "num.partitions": str(settings.kafka_partitions),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        **security_properties(settings, secrets.token_hex(32), listen=listen, advertise=advertise),
    }
    kafka.with_env("CLUSTER_ID", "bWVtc3RyZWFtLXRlc3Rz")
    for key, value in properties.items():
        kafka.with_env(_kafka_image_variable(key), value)
    for port in (internal, producer):
        kafka.with_bind_ports(port, port)
    stack.callback(kafka.stop)
    kafka.start()
    bootstrap = f"{host}:{internal}"
    admin = AdminClient(client_config(replace(settings, kafka_bootstrap=bootstrap), log_level=0))
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            if admin.list_topics(timeout=5).brokers:
                return bootstrap, f"{host}:{producer}"
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def _kafka_image_variable(key: str) -> str:
    """apache/kafka's environment name for a server property: "_" is "__", "-" is "___", "." is "_"."""
    return "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper()


def _start_milvus_container(stack: ExitStack) -> str:
    from testcontainers.community.milvus import MilvusContainer

    milvus = MilvusContainer(MILVUS_IMAGE)
    stack.callback(milvus.stop)
    milvus.start()
    return milvus.get_connection_url()


def _start_milvus_lite(stack: ExitStack) -> str:
    from milvus_lite.server import Server

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="memstream-milvus-")))
    port = _free_port()
    server = Server(str(folder / "memstream.db"), address=f"127.0.0.1:{port}")
    stack.callback(server.stop)
    if not server.init() or not server.start():
        raise RuntimeError("Milvus Lite did not start (see its output above)")
    _wait_for_port("127.0.0.1", port, STARTUP_TIMEOUT_S)
    return f"http://127.0.0.1:{port}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s} s") from None
            time.sleep(0.2)
