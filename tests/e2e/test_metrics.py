"""Each process's ``/metrics`` (adapters/metrics.py) after a few turns and searches, scraped from the real API, stream
worker and projectors: the counters moved by exactly what the system did, as the log itself counts it.

The system is isolated (its own topics), so the log's end offsets are the ground truth: every event the worker wrote
is on the memory topic, and every projector handled every event of the topics it reads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import adapters.metrics  # noqa: F401  (registers the families this test expects to move)
from adapters.kafka import SyncProducer, make_producer
from adapters.kafka_auth import client_config
from api.gateway.principal import Scope as KeyScope
from memory.settings import PROJECT_ROOT, Settings
from projections.wiring import metrics_port
from tests.e2e.conftest import RunningSystem, free_port, running_system
from tests.support import issue_key, unique, wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
TURNS = (
    "I moved to Lisbon last spring.",
    "My sister Ana is a marine biologist.",
    "I am allergic to peanuts.",
)
PROJECTORS = ("postgres", "milvus", "neo4j", "redis")
AGENTS = ("streams.extraction", "streams.embedding", "streams.lifecycle")


@pytest.fixture(scope="module")
def system(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    logs: Path = tmp_path_factory.mktemp("logs")
    with running_system(stack_settings, logs) as running:
        yield running


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def urls(system: RunningSystem) -> dict[str, str]:
    s = system.settings
    return {
        "api": f"{system.system.base_url}/metrics",
        "streams": f"http://{s.metrics_host}:{s.streams_metrics_port}/metrics",
        "projections": f"http://{s.metrics_host}:{s.projections_metrics_port}/metrics",
    }


def end_offsets(settings: Settings, topic: str) -> int:
    consumer = Consumer(client_config(settings, **{"group.id": unique("metrics-")}))
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(settings.kafka_partitions)
        )
    finally:
        consumer.close()


def add_turns(system: RunningSystem, user: str) -> None:
    with system.client() as client:
        for text in TURNS:
            answer = client.post("/v1/memories", json={"user_id": user, "app_id": system.app_id, "text": text})
            assert answer.status_code == 202, answer.text


def memory_count(system: RunningSystem, user: str) -> int:
    with system.client() as client:
        answer = client.get("/v1/memories", params={"user_id": user, "app_id": system.app_id})
        assert answer.status_code == 200, answer.text
        count: int = answer.json()["total"]
        return count


def test_every_process_serves_its_metrics_and_the_counters_follow_the_log(system: RunningSystem) -> None:
    where = urls(system)
    # The worker serves once it has started; every scrape below is of a process that did nothing before this test.
    wait_until(lambda: _answers(where["streams"]) and _answers(where["projections"]), timeout=120, what="metrics")
    user = unique("u-")
    add_turns(system, user)
    wait_until(lambda: memory_count(system, user) >= len(TURNS), timeout=120, what="the turns' memories")

    settings = system.settings
    turns_written = end_offsets(settings, settings.topics.turns)
    assert turns_written == len(TURNS)

    def settled() -> tuple[Samples, Samples] | None:
        """The projectors' counts once they have handled the whole log (which stops growing once the worker is done:
        no search has run yet, so nothing else writes)."""
        memory_events = end_offsets(settings, settings.topics.memories)
        streams, projections = scrape(where["streams"]), scrape(where["projections"])
        produced = total(streams, "memstream_events_produced_total")
        handled = {
            p: value(projections, "memstream_events_consumed_total", component=f"projection.{p}") for p in PROJECTORS
        }
        wanted = {p: memory_events + (turns_written if p == "postgres" else 0) for p in PROJECTORS}
        return (streams, projections) if produced == memory_events and handled == wanted else None

    # Each process has its own registry (the families it never moves read 0), so the two are read apart.
    found = wait_until(settled, timeout=120, what="the worker's and projectors' counts to match the log")
    assert found is not None
    samples, projected = found
    memories = memory_count(system, user)

    # The worker: the three turns in, every event on the memory topic out, one embedding per memory, one activation
    # per memory (three unrelated facts: nothing repeats or contradicts another).
    assert value(samples, "memstream_events_consumed_total", component="streams.extraction") == len(TURNS)
    assert value(samples, "memstream_embedded_texts_total") == memories
    assert value(samples, "memstream_embedding_duration_seconds_count") >= 1
    assert value(samples, "memstream_events_produced_total", component="streams.embedding") == memories
    assert value(samples, "memstream_events_produced_total", component="streams.lifecycle") == memories
    memory_events = end_offsets(settings, settings.topics.memories)
    # Extraction wrote the rest: each memory's MemoryExtracted and its EntitiesLinked.
    assert value(samples, "memstream_events_produced_total", component="streams.extraction") == (
        memory_events - 2 * memories
    )
    for agent in AGENTS:
        assert value(samples, "memstream_batch_duration_seconds_count", component=agent) >= 1, agent
        assert value(samples, "memstream_batch_size_count", component=agent) >= 1, agent
    assert value(samples, "memstream_lifecycle_decisions_total", kind="MemoryActivated") == memories
    assert total(samples, "memstream_lifecycle_decisions_total") == value(
        samples, "memstream_events_produced_total", component="streams.lifecycle"
    )
    assert value(samples, "memstream_batch_size_count", component="streams.extraction") >= 1
    assert value(samples, "memstream_batch_size_sum", component="streams.extraction") == len(TURNS)
    assert total(samples, "memstream_dead_letters_total") == 0
    # The projectors: handled in batches that add up, and nothing left behind on any partition of the memory log.
    assert total(projected, "memstream_dead_letters_total") == 0
    for projector in PROJECTORS:
        component = f"projection.{projector}"
        assert value(projected, "memstream_batch_size_sum", component=component) == value(
            projected, "memstream_events_consumed_total", component=component
        )
        assert value(projected, "memstream_batch_duration_seconds_count", component=component) >= 1

    def caught_up() -> bool:
        lags = {
            labels: v for (name, labels), v in scrape(where["projections"]).items() if name == "memstream_consumer_lag"
        }
        groups = {dict(labels)["group"] for labels in lags}
        partitions = {(dict(labels)["group"], dict(labels)["partition"]) for labels in lags}
        # Every projector's group reports every partition of what it reads, and none is behind.
        return (
            len(groups) == len(PROJECTORS)
            and len(partitions) >= len(PROJECTORS) * settings.kafka_partitions
            and not any(lags.values())
        )

    wait_until(caught_up, timeout=30, what="every projector's lag to read 0")

    def worker_caught_up() -> bool:
        """The worker's group reports every partition of the three topics it reads, none behind."""
        lags = {labels: v for (name, labels), v in scrape(where["streams"]).items() if name == "memstream_consumer_lag"}
        groups = {dict(labels)["group"] for labels in lags}
        return (
            groups == {settings.faust_app_id} and len(lags) == 3 * settings.kafka_partitions and not any(lags.values())
        )

    wait_until(worker_caught_up, timeout=30, what="the worker's lag to read 0")

    def agents_read_the_memory_log() -> bool:
        """Embedding and lifecycle read every event of the memory topic (the commands topic is empty), counted once
        their batches settled, which the group's committed offsets above already show."""
        worker = scrape(where["streams"])
        return all(
            value(worker, "memstream_events_consumed_total", component=agent) == memory_events
            for agent in ("streams.embedding", "streams.lifecycle")
        )

    wait_until(agents_read_the_memory_log, timeout=30, what="embedding and lifecycle to count every memory event")

    # The API: the three writes timed under their route template; a search computed once (a miss, each retriever
    # timed once) and then answered from the cache (a hit).
    api_before = scrape(where["api"])
    search = {"query": "where do I live", "user_id": user, "app_id": system.app_id, "recipe": "hybrid"}
    with system.client() as client:
        for _ in range(2):
            answer = client.post("/v1/memories/search", json=search)
            assert answer.status_code == 200, answer.text
        assert client.get("/v1/memories", headers={"Authorization": "Bearer nonsense"}).status_code == 401
        assert client.get("/v1/no-such-route").status_code == 404
    reader = issue_key(system.settings, system.app_id, scopes=(KeyScope.READ,), user_id=user)
    with system.client(reader) as client:
        refused = client.post("/v1/memories", json={"user_id": user, "app_id": system.app_id, "text": "no"})
        assert refused.status_code == 403, refused.text
    api = scrape(where["api"])
    writes = value(
        api, "memstream_http_request_duration_seconds_count", route="/v1/memories", method="POST", status="202"
    )
    assert writes == len(TURNS)
    searches = (
        "memstream_http_request_duration_seconds_count",
        {"route": "/v1/memories/search", "method": "POST", "status": "200"},
    )
    assert value(api, searches[0], **searches[1]) - value(api_before, searches[0], **searches[1]) == 2
    assert (
        value(api, "memstream_http_request_duration_seconds_count", route="/v1/memories", method="GET", status="401")
        == 1
    )
    # Refused by a read-only key's scope, and no route at all: timed too, the latter without its path as a label.
    assert (
        value(api, "memstream_http_request_duration_seconds_count", route="/v1/memories", method="POST", status="403")
        == 1
    )
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    timed_404 = "memstream_http_request_duration_seconds_count"
    assert value(api, timed_404, **unmatched) - value(api_before, timed_404, **unmatched) == 1
    assert not any("no-such-route" in str(labels) for (_, labels) in api)
    assert (
        value(api, "memstream_search_cache_lookups_total", result="miss")
        - value(api_before, "memstream_search_cache_lookups_total", result="miss")
        == 1
    )
    assert (
        value(api, "memstream_search_cache_lookups_total", result="hit")
        - value(api_before, "memstream_search_cache_lookups_total", result="hit")
        == 1
    )
    for retriever in ("dense", "sparse", "graph"):
        timed = value(api, "memstream_search_retriever_duration_seconds_count", retriever=retriever)
        assert timed - value(api_before, "memstream_search_retriever_duration_seconds_count", retriever=retriever) == 1


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_dead_letters_are_counted_by_component_and_error_class(system: RunningSystem) -> None:
    where, settings = urls(system), system.settings
    before_worker, before_projectors = scrape(where["streams"]), scrape(where["projections"])
    user = unique("u-")
    key = f"{system.app_id}/{user}".encode()
    SyncProducer(make_producer(settings)).produce_all([(settings.topics.turns, key, b"garbage, not Avro")])

    def moved() -> bool:
        worker, projectors = scrape(where["streams"]), scrape(where["projections"])
        extraction = ("memstream_dead_letters_total", {"component": "streams.extraction", "reason": "DecodeError"})
        postgres = ("memstream_dead_letters_total", {"component": "projection.postgres", "reason": "DecodeError"})
        return (
            value(worker, extraction[0], **extraction[1]) - value(before_worker, extraction[0], **extraction[1]) == 1
            and value(projectors, postgres[0], **postgres[1]) - value(before_projectors, postgres[0], **postgres[1])
            == 1
        )

    # The extraction agent and the PostgreSQL projector (the conversation log) both read the turns topic.
    wait_until(moved, timeout=60, what="one DecodeError dead letter from extraction and one from postgres")


def test_rate_limit_refusals_are_counted(system: RunningSystem) -> None:
    url = urls(system)["api"]
    key = issue_key(
        system.settings, system.app_id, scopes=(KeyScope.READ,), user_id=unique("u-"), rate_limit=1
    )
    before = value(scrape(url), "memstream_rate_limit_refusals_total")
    with system.client(key) as client:
        statuses = [client.get("/v1/memories").status_code for _ in range(3)]
    assert statuses == [200, 429, 429]
    assert value(scrape(url), "memstream_rate_limit_refusals_total") - before == 2


# Which process moves which family; together, every family adapters/metrics.py defines.
MOVED_BY = {
    "api": {
        "memstream_http_request_duration_seconds",
        "memstream_search_retriever_duration_seconds",
        "memstream_search_cache_lookups",
        "memstream_rate_limit_refusals",
    },
    "streams": {
        "memstream_events_consumed",
        "memstream_events_produced",
        "memstream_batch_size",
        "memstream_batch_duration_seconds",
        "memstream_embedded_texts",
        "memstream_embedding_duration_seconds",
        "memstream_dead_letters",
        "memstream_lifecycle_decisions",
        "memstream_consumer_lag",
    },
    "projections": {
        "memstream_events_consumed",
        "memstream_batch_size",
        "memstream_batch_duration_seconds",
        "memstream_dead_letters",
        "memstream_consumer_lag",
    },
}


def moved_families(url: str) -> set[str]:
    """The project's families with a series that moved: a counter or histogram above 0, a gauge with any series (a
    consumer caught up reads 0, and that is a reading)."""
    response = httpx.get(url, timeout=10)
    moved = set()
    for family in text_string_to_metric_families(response.text):
        if not family.name.startswith("memstream_"):
            continue
        counts = [s.value for s in family.samples if s.name.endswith(("_total", "_count"))]
        if (family.type == "gauge" and family.samples) or any(v > 0 for v in counts):
            moved.add(family.name)
    return moved


def test_every_family_exists_in_each_process_and_moves_there(system: RunningSystem) -> None:
    defined = {f.name for f in REGISTRY.collect() if f.name.startswith("memstream_")}
    assert set().union(*MOVED_BY.values()) == defined  # a new family must be given to the process that moves it
    where, settings = urls(system), system.settings
    for url in where.values():  # every process exposes every family, those it never moves at 0
        exposed = {f.name for f in text_string_to_metric_families(httpx.get(url, timeout=10).text)}
        assert defined <= exposed, (url, sorted(defined - exposed))

    user = unique("u-")
    add_turns(system, user)  # the pipeline's families, and the API's request timer
    with system.client() as client:  # the search families
        search = {"query": "peanuts", "user_id": user, "app_id": system.app_id}
        wait_until(lambda: client.post("/v1/memories/search", json=search).json()["results"], timeout=120,
                   what="a search hit")  # fmt: skip
    limited = issue_key(settings, system.app_id, scopes=(KeyScope.READ,), user_id=user, rate_limit=1)
    with system.client(limited) as client:  # the rate limiter's refusals
        assert [client.get("/v1/memories").status_code for _ in range(2)] == [200, 429]
    key = f"{system.app_id}/{user}".encode()  # dead letters, from the worker and the PostgreSQL projector
    SyncProducer(make_producer(settings)).produce_all([(settings.topics.turns, key, b"not Avro")])

    left: dict[str, set[str]] = {}

    def all_moved() -> bool:
        left.update({process: wanted - moved_families(where[process]) for process, wanted in MOVED_BY.items()})
        return not any(left.values())

    try:
        wait_until(all_moved, timeout=120, what="every family to move in its process")
    except AssertionError:
        pytest.fail(f"families that never moved, by process: {left}")


def _free_run(length: int) -> int:
    """A port ``p`` with ``p`` .. ``p + length - 1`` all free (a projections process per store)."""
    while True:
        base = free_port()
        try:
            for port in range(base, base + length):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base


def test_projections_split_over_processes_each_serve_their_own_port(system: RunningSystem, tmp_path: Path) -> None:
    """Two projections processes on one host, as an operator splitting the stores would start them: each serves at the
    base port + its first store's position, and reports its own groups' lag there."""
    base = _free_run(len(PROJECTORS))
    # Their own consumer groups, so the system's projector keeps its partitions for the other tests.
    settings = replace(system.settings, projections_metrics_port=base, consumer_group_prefix=unique("split-"))
    halves = (("postgres", "milvus"), ("neo4j", "redis"))
    procs = []
    try:
        for stores in halves:
            with (tmp_path / f"projections-{'-'.join(stores)}.log").open("ab") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "projections", *stores],
                        env={**os.environ, **settings.to_env()},
                        cwd=PROJECT_ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )

        def groups_at(port: int) -> set[str] | None:
            try:
                samples = scrape(f"http://{settings.metrics_host}:{port}/metrics")
            except httpx.HTTPError:
                return None
            return {dict(labels)["group"] for (name, labels) in samples if name == "memstream_consumer_lag"} or None

        def reports(port: int, stores: tuple[str, ...]) -> bool:
            return groups_at(port) == {f"{settings.consumer_group_prefix}.projection.{store}" for store in stores}

        for stores in halves:
            port = metrics_port(settings, stores)
            wait_until(partial(reports, port, stores), timeout=120, what=f"{stores} reporting their lag at :{port}")
        assert [metrics_port(settings, s) for s in halves] == [base, base + 2]
    finally:
        for proc in procs:  # our own children, by their pid
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
