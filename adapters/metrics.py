"""The pipeline's Prometheus metrics: every family, defined once, and how a process without HTTP serves them.

Each process (API, stream worker, projectors) has its own registry, the library's default one, and moves only the
families of its own work; a scrape of a process shows every family, those it never moves at zero. The API serves its
registry at its own ``/metrics`` (``api/metrics.py``); the worker and the projectors, which have no HTTP port
otherwise, serve theirs on the port their settings name (``serve``).

*Why labels never carry an app, user or memory id*: every distinct label value is a time series held forever by the
process and by Prometheus, and a tenant's id would also tell every scraper who uses the service. Labels are
bounded: route templates, retriever kinds, components, exception class names, event types, groups and partitions.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from memory.settings import Settings

log = logging.getLogger(__name__)

# Latencies from a cache hit (~2 ms) to a slow search under load or an embedding batch (seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)

# --- the API ---------------------------------------------------------------------------------------------------
HTTP_REQUEST_SECONDS = Histogram(
    "memstream_http_request_duration_seconds",
    "Time from a request's arrival to its answer's last byte, by route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_RETRIEVER_SECONDS = Histogram(
    "memstream_search_retriever_duration_seconds",
    "Time one retriever took within a search.",
    ["retriever"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_CACHE = Counter(
    "memstream_search_cache_lookups",
    "Searches looked up in the hot cache, by result (hit or miss).",
    ["result"],
)
RATE_LIMIT_REFUSALS = Counter(
    "memstream_rate_limit_refusals",
    "Requests refused with 429 because their caller spent the minute's budget.",
)

# --- the stream worker's agents and the projectors ---------------------------------------------------------------
EVENTS_CONSUMED = Counter(
    "memstream_events_consumed",
    "Events an agent or projector handled: counted when their batch is settled, again if it is ever read again.",
    ["component"],
)
EVENTS_PRODUCED = Counter(
    "memstream_events_produced",
    "Events an agent wrote to the log, acknowledged by the broker (dead letters not included).",
    ["component"],
)
BATCH_SIZE = Histogram(
    "memstream_batch_size",
    "Events in a batch an agent or projector handled.",
    ["component"],
    buckets=BATCH_SIZE_BUCKETS,
)
BATCH_SECONDS = Histogram(
    "memstream_batch_duration_seconds",
    "Time an agent or projector took to handle one batch, sends and commits included.",
    ["component"],
    buckets=LATENCY_BUCKETS,
)
EMBEDDED_TEXTS = Counter(
    "memstream_embedded_texts",
    "Texts the embedding agent embedded (throughput: its rate).",
)
EMBEDDING_SECONDS = Histogram(
    "memstream_embedding_duration_seconds",
    "Time the embedding model took for one batch of texts.",
    buckets=LATENCY_BUCKETS,
)
DEAD_LETTERS = Counter(
    "memstream_dead_letters",
    "Events sent to the dead-letter topic, by component and the class of the error that condemned them.",
    ["component", "reason"],
)
LIFECYCLE_DECISIONS = Counter(
    "memstream_lifecycle_decisions",
    "Events the lifecycle agent decided and wrote, by kind (the event type: MemoryActivated, MemorySuperseded, ...).",
    ["kind"],
)
CONSUMER_LAG = Gauge(
    "memstream_consumer_lag",
    "Events between a consumer group's position and the end of a partition, as the group's own consumer sees it.",
    ["group", "topic", "partition"],
)


def reason_of(error: BaseException | str) -> str:
    """A dead letter's reason as a label: the error's class, not its message (which holds the event's data);
    "rejected" for a refusal given as text only."""
    return type(error).__name__ if isinstance(error, BaseException) else "rejected"


def serve(settings: Settings, port: int, process: str) -> None:
    """Serve this process's registry at ``http://<metrics_host>:<port>/metrics`` from a daemon thread.

    A port already taken (two workers started by hand on one host) is logged and the process runs on without
    metrics: losing the view of a process is better than losing the process."""
    if not settings.metrics_enabled or port <= 0:
        log.info("%s: metrics not served (metrics_enabled=%s, port %s)", process, settings.metrics_enabled, port)
        return
    try:
        start_http_server(port, addr=settings.metrics_host)
    except OSError as exc:
        log.error(
            "%s: cannot serve metrics on %s:%d (%s); running without them", process, settings.metrics_host, port, exc
        )
        return
    log.info("%s: metrics at http://%s:%d/metrics", process, settings.metrics_host, port)
