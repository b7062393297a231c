"""The broker's two doors, tried as an outsider would: who gets in, and what a producer credential can do.

Against the local stack's real broker. Every refusal is asserted by what the broker answered (an error code, a
closed connection right after a request it would serve an authenticated client), never by a timeout alone;
where librdkafka can only report a message as timed out, the same message from an authenticated client is
delivered in the same test, and the topic is checked to hold nothing from the refused one.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from adapters.kafka import PRODUCER_CONFIG, ensure_topics, make_admin
from adapters.kafka_auth import client_config, producer_bootstrap, producer_client_config
from adapters.producer_door import ProducerDoorError, grant, list_producers, make_door_producer, revoke
from memory.settings import Settings
from tests.support import unique, wait_until

pytestmark = pytest.mark.integration

PASSWORD = "a-producer-password-for-tests-0123456789"
# Short, so that a message the broker will never take fails fast; the broker's answer is asserted besides.
QUICK = {"message.timeout.ms": 4000, "socket.timeout.ms": 4000}


@dataclass
class Attempt:
    """What one producer saw: each message's delivery error (None: delivered) and the client-level errors."""

    deliveries: list[KafkaError | None] = field(default_factory=list)
    errors: list[KafkaError] = field(default_factory=list)

    @property
    def codes(self) -> set[int]:
        return {e.code() for e in self.errors}


def produce_once(config: dict[str, Any], topic: str) -> Attempt:
    attempt = Attempt()
    producer = Producer({**PRODUCER_CONFIG, **config, **QUICK, "error_cb": attempt.errors.append})
    producer.produce(
        topic, b"turn bytes", key=b"app/user", on_delivery=lambda err, _msg: attempt.deliveries.append(err)
    )
    producer.flush(20)
    return attempt


def end_offsets(settings: Settings, topic: str) -> int:
    """Messages ever written to ``topic``, read as the pipeline (retried while a new topic's leaders settle)."""
    consumer = Consumer(client_config(settings, **{"group.id": unique("probe-")}))

    def total() -> int | None:
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
        except KafkaException:
            return None

    try:
        # A 1-tuple, so that an end offset of 0 counts as found.
        found: tuple[int] = wait_until(
            lambda: None if (count := total()) is None else (count,), timeout=30, what=f"the end offsets of {topic}"
        )
        return found[0]
    finally:
        consumer.close()


def first_refusal(consumer: Consumer, code: int) -> list[int]:
    """Poll until the consumer is refused with ``code``; the codes of every error seen, failing on any record."""
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        error = message.error()
        assert error is not None, f"a producer credential read a record at offset {message.offset()}"
        seen.append(error.code())
        if error.code() == code:
            return seen
    raise AssertionError(f"no refusal {code} in 30 s; errors seen: {seen}")


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def unauthenticated_requests(address: str) -> tuple[int, bytes | None]:
    """ApiVersions (Kafka serves it before authentication), then Metadata without authenticating: the
    ApiVersions error code and Metadata's answer (None when the broker closed the connection instead)."""

    def request(sock: socket.socket, api_key: int, correlation: int, body: bytes) -> bytes | None:
        client = b"outsider"
        payload = struct.pack(">hhih", api_key, 0, correlation, len(client)) + client + body
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        head = sock.recv(4)
        if len(head) < 4:
            return None
        (size,) = struct.unpack(">i", head)
        answer = b""
        while len(answer) < size:
            chunk = sock.recv(size - len(answer))
            if not chunk:
                return None
            answer += chunk
        return answer

    with socket.create_connection(host_port(address), timeout=10) as sock:
        versions = request(sock, 18, 1, b"")
        assert versions is not None, "the broker must answer ApiVersions before authentication"
        correlation, error = struct.unpack(">ih", versions[:6])
        assert correlation == 1
        metadata = request(sock, 3, 2, struct.pack(">i", 0))
    return error, metadata


@pytest.fixture
def door(settings: Settings) -> Iterator[tuple[Settings, str]]:
    """Isolated topics and a producer credential that may write their turns topic; revoked afterwards."""
    ensure_topics(settings)
    name = unique("producer-")
    grant(settings, name, PASSWORD)
    try:
        yield settings, name
    finally:
        revoke(settings, name)


# ------------------------------------------------------------------------------------------- the producer door


def test_an_unauthenticated_client_gets_nothing_from_the_producer_listener(door: tuple[Settings, str]) -> None:
    settings, name = door
    error, metadata = unauthenticated_requests(producer_bootstrap(settings))
    assert error == 0
    assert metadata is None, "the broker answered a request from a client that never authenticated"

    before = end_offsets(settings, settings.topics.turns)
    plain = produce_once({"bootstrap.servers": producer_bootstrap(settings)}, settings.topics.turns)
    assert [e.code() if e else None for e in plain.deliveries] == [KafkaError._MSG_TIMED_OUT]
    assert plain.codes & {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}, plain.errors  # dropped, not slow
    # The same message with the credential goes through: the refusal was the missing authentication.
    allowed = produce_once(producer_client_config(settings, name, PASSWORD), settings.topics.turns)
    assert allowed.deliveries == [None], allowed.errors
    assert end_offsets(settings, settings.topics.turns) == before + 1


def test_a_wrong_password_is_refused_at_login(door: tuple[Settings, str]) -> None:
    settings, name = door
    attempt = produce_once(producer_client_config(settings, name, "not-the-password"), settings.topics.turns)
    assert [e.code() if e else None for e in attempt.deliveries] == [KafkaError._MSG_TIMED_OUT]
    refusals = [e for e in attempt.errors if e.code() == KafkaError._AUTHENTICATION]
    assert refusals and "invalid credentials" in refusals[0].str(), attempt.errors

    checked = make_door_producer(settings, name, "not-the-password")
    with pytest.raises(ProducerDoorError, match=f"refused '{name}'.*invalid credentials"):
        checked.check(settings.topics.turns)


def test_a_producer_writes_the_turns_topic_and_no_other(door: tuple[Settings, str]) -> None:
    settings, name = door
    config = producer_client_config(settings, name, PASSWORD)
    assert produce_once(config, settings.topics.turns).deliveries == [None]
    make_door_producer(settings, name, PASSWORD).check(settings.topics.turns)  # no complaint
    for topic in (settings.topics.memories, settings.topics.commands, settings.topics.deadletter):
        before = end_offsets(settings, topic)
        attempt = produce_once(config, topic)
        assert [e.code() if e else None for e in attempt.deliveries] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
        assert end_offsets(settings, topic) == before
        with pytest.raises(ProducerDoorError, match="may not write"):
            make_door_producer(settings, name, PASSWORD).check(topic)


def test_a_producer_cannot_create_topics_or_change_configs(door: tuple[Settings, str]) -> None:
    settings, name = door
    config = producer_client_config(settings, name, PASSWORD)
    new_topic = unique("test.made-by-producer.")
    # Auto-creation on first write is refused: the broker needs CREATE, which no producer has.
    attempt = produce_once(config, new_topic)
    assert [e.code() if e else None for e in attempt.deliveries] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    admin = AdminClient(config)
    with pytest.raises(KafkaException) as created:
        admin.create_topics([NewTopic(new_topic, 1, 1)], request_timeout=15)[new_topic].result(timeout=20)
    assert created.value.args[0].code() in {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }
    assert new_topic not in make_admin(settings).list_topics(timeout=10).topics

    retention = ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, settings.topics.turns, incremental_configs=[retention])
    with pytest.raises(KafkaException) as altered:
        admin.incremental_alter_configs([resource], request_timeout=15)[resource].result(timeout=20)
    assert altered.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    with pytest.raises(KafkaException) as described:
        admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, settings.topics.turns)])[
            ConfigResource(ConfigResource.Type.TOPIC, settings.topics.turns)
        ].result(timeout=20)
    assert described.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_producer_cannot_read_not_even_the_turns_it_wrote(door: tuple[Settings, str]) -> None:
    settings, name = door
    config = producer_client_config(settings, name, PASSWORD)
    assert produce_once(config, settings.topics.turns).deliveries == [None]
    # In a consumer group: the group is refused before any topic is read.
    grouped = Consumer({**config, "group.id": unique("thief-"), "auto.offset.reset": "earliest"})
    grouped.subscribe([settings.topics.turns])
    try:
        assert first_refusal(grouped, KafkaError.GROUP_AUTHORIZATION_FAILED)[0] == KafkaError.GROUP_AUTHORIZATION_FAILED
    finally:
        grouped.close()
    # Without a group, fetching a partition directly: the topic is refused (no READ).
    direct = Consumer({**config, "group.id": unique("thief-"), "enable.auto.commit": False})
    direct.assign([TopicPartition(settings.topics.turns, p, 0) for p in range(settings.kafka_partitions)])
    try:
        first_refusal(direct, KafkaError.TOPIC_AUTHORIZATION_FAILED)
    finally:
        direct.close()


def test_a_revoked_producer_is_refused_and_gone_from_the_list(door: tuple[Settings, str]) -> None:
    settings, name = door
    listed = {p.username: p for p in list_producers(settings)}[name]
    assert listed.mechanisms == ("SCRAM-SHA-512",)
    assert listed.grants == (
        f"ALLOW DESCRIBE topic {settings.topics.turns}",
        f"ALLOW WRITE topic {settings.topics.turns}",
    )
    assert revoke(settings, name) is True
    assert revoke(settings, name) is False  # idempotent, and says there was nothing left
    assert name not in {p.username for p in list_producers(settings)}
    attempt = produce_once(producer_client_config(settings, name, PASSWORD), settings.topics.turns)
    assert KafkaError._AUTHENTICATION in attempt.codes, attempt.errors


def test_the_pipelines_principal_cannot_be_taken_as_a_producer_name(settings: Settings) -> None:
    for name in (settings.kafka_username, "memstream-broker"):
        with pytest.raises(ProducerDoorError, match="pipeline's own principal"):
            grant(settings, name, PASSWORD)
    with pytest.raises(ProducerDoorError, match="producer name"):
        grant(settings, "User:evil", PASSWORD)


# ------------------------------------------------------------------------------------------- the internal door


def test_an_unauthenticated_client_gets_nothing_from_the_internal_listener(settings: Settings) -> None:
    error, metadata = unauthenticated_requests(settings.kafka_bootstrap)
    assert error == 0
    assert metadata is None

    ensure_topics(settings)
    before = end_offsets(settings, settings.topics.turns)
    plain = produce_once({"bootstrap.servers": settings.kafka_bootstrap}, settings.topics.turns)
    assert [e.code() if e else None for e in plain.deliveries] == [KafkaError._MSG_TIMED_OUT]
    assert plain.codes & {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}, plain.errors
    pipeline = produce_once(client_config(settings), settings.topics.turns)
    assert pipeline.deliveries == [None], pipeline.errors
    assert end_offsets(settings, settings.topics.turns) == before + 1


def test_wrong_credentials_are_refused_on_the_internal_listener(door: tuple[Settings, str]) -> None:
    settings, name = door
    wrong = client_config(settings, **{"sasl.password": "not-the-pipeline-password"})
    attempt = produce_once(wrong, settings.topics.turns)
    assert any(
        e.code() == KafkaError._AUTHENTICATION and "Invalid username or password" in e.str() for e in attempt.errors
    ), attempt.errors
    # A producer credential does not open the internal door: SCRAM is not even offered there.
    scram = {**producer_client_config(settings, name, PASSWORD), "bootstrap.servers": settings.kafka_bootstrap}
    attempt = produce_once(scram, settings.topics.turns)
    assert any(
        e.code() == KafkaError._AUTHENTICATION and "Unsupported SASL mechanism" in e.str() for e in attempt.errors
    ), attempt.errors
