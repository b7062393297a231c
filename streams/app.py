"""The Faust app: one app, agents grouped by concern (extraction, embedding, lifecycle).

Offsets commit only after the events an agent produced are acknowledged by the broker: each agent awaits
its delivery futures before taking the next event, and Faust acks an event when the agent moves on; a
partition's commit moves only through events that were acknowledged, one after another (streams.offsets).
At-least-once, so every consumer downstream is idempotent (deterministic ids).
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import faust

from adapters.heartbeat import beat, heartbeat_path
from adapters.kafka_auth import uses_sasl
from adapters.log_offsets import LogOffsets, group_lag
from adapters.logs import logging_config
from adapters.metrics import CONSUMER_LAG
from memory.settings import Settings
from streams.agents.embedding import register_embedding
from streams.agents.extraction import register_extraction
from streams.agents.lifecycle import register_lifecycle
from streams.context import StreamContext, build_context
from streams.offsets import StreamsApp
from streams.stall_watch import watch_for_stalls
from streams.table_store import table_store_url, worker_data_dir


def broker_credentials(settings: Settings) -> faust.SASLCredentials | None:
    """The pipeline's principal for aiokafka, as ``adapters.kafka_auth.client_config`` gives it to librdkafka."""
    protocol = settings.kafka_security_protocol.upper()
    if not uses_sasl(protocol):
        return None
    # Faust derives SASL_SSL from an SSL context; none means SASL_PLAINTEXT.
    context = ssl.create_default_context() if protocol == "SASL_SSL" else None
    return faust.SASLCredentials(
        username=settings.kafka_username,
        password=settings.kafka_password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=context,
    )


class JsonLinesWorker(faust.Worker):
    """Faust's worker without its progress spinner, which writes terminal escapes to stdout: the log is JSON lines
    only (adapters/logs.py). The banner is silenced by ``--quiet`` (memstream_cli/processes.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None


def create_app(settings: Settings, context: StreamContext | None = None) -> faust.App:
    # Faust's own commit bookkeeping can skip an event around a rebalance: streams.offsets says how and why.
    app = StreamsApp(
        settings.faust_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=broker_credentials(settings),
        store=table_store_url(settings),  # memory or RocksDB: streams/table_store.py
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,  # its changelog topics
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        # A killed worker's partitions are reassigned after 10 s instead of Faust's default 60 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        web_enabled=False,
        logging_config=logging_config("streams", settings.log_level),  # JSON lines (adapters/logs.py)
        Worker=JsonLinesWorker,
        datadir=str(worker_data_dir(settings)),
    )
    ctx = context or build_context(settings)
    register_extraction(app, ctx)
    register_embedding(app, ctx)
    register_lifecycle(app, ctx)
    watch_for_stalls(app)
    beat_while_running(app, heartbeat_path(settings, "streams"), settings.heartbeat_seconds)
    if settings.metrics_enabled and settings.streams_metrics_port > 0:
        report_lag(app, settings)
    return app


LAG_SECONDS = 5.0
log = logging.getLogger(__name__)


def report_lag(app: faust.App, settings: Settings) -> None:
    """The worker's consumer lag per partition (adapters/metrics.py), from the group's committed offsets: what a
    restart would read again, the same for every worker of the group (each reports the whole group's lag)."""
    offsets = LogOffsets(settings)
    topics = (settings.topics.turns, settings.topics.commands, settings.topics.memories)

    @app.timer(interval=LAG_SECONDS)
    async def measure_lag() -> None:
        try:
            lags = await group_lag(offsets, settings.faust_app_id, topics)
        except Exception as exc:  # the broker away: keep the last values, the next tick tries again
            log.warning("cannot measure the worker's lag (%s)", exc)
            return
        for (topic, partition), lag in lags.items():
            CONSUMER_LAG.labels(settings.faust_app_id, topic, str(partition)).set(lag)


def beat_while_running(app: faust.App, path: Path, seconds: float) -> None:
    """Liveness (adapters/heartbeat.py): a timer on the worker's event loop, so a blocked loop goes stale."""

    @app.timer(interval=seconds)
    async def heartbeat() -> None:
        beat(path)
