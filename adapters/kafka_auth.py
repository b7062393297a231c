"""Who a Kafka client is: the pipeline's own principal, and the client configuration that presents it.

The broker has two doors (ARCHITECTURE.md, "Kafka: two doors"). The *internal* listener (``kafka_bootstrap``)
serves the pipeline's own components, which authenticate as ``kafka_username`` (``memstream-pipeline``, a super
user of the local stack's broker) with SASL/PLAIN. The *producer* listener (``producer_bootstrap``) serves
external producers with SCRAM credentials that may write the turns topic and nothing else
(``adapters.producer_door``). Every client the code base builds, confluent-kafka or aiokafka, gets its
security settings from here, so none can forget them.

The local stack generates the pipeline's password once into ``<data_dir>/secrets/kafka-pipeline.password``;
``fill_kafka_credentials`` (a credential filler of ``adapters.settings_loader``) reads it into the settings when
the environment left ``MEMSTREAM_KAFKA_PASSWORD`` empty. Standard library only: the local stack imports it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.secret_files import SECRETS_DIR, generated_secret
from memory.settings import Settings

# librdkafka's own lines ("Coordinator load in progress: retrying") go through Python's logging, so a process's log
# stays JSON lines (adapters/logs.py); without a logger librdkafka prints plain text on stderr.
LIBRDKAFKA_LOG = logging.getLogger("librdkafka")

PIPELINE_PASSWORD_FILE = SECRETS_DIR / "kafka-pipeline.password"
# The local broker's own principal, for its connections to itself and to its controller (infra/local).
BROKER_USERNAME = "memstream-broker"
# The local stack's producer listener is the internal one's port + 2 (the controller has + 1).
PRODUCER_PORT_OFFSET = 2
# Region B's Kafka of the local stack (the disaster-recovery drill) listens at the internal port + 10.
REGION_B_PORT_OFFSET = 10


def uses_sasl(protocol: str) -> bool:
    return protocol.upper().startswith("SASL_")


def super_users(settings: Settings) -> frozenset[str]:
    """The principals that may do anything on the local stack's broker; no producer may take their names."""
    return frozenset({settings.kafka_username, BROKER_USERNAME})


def pipeline_password_file(settings: Settings) -> Path:
    return settings.data_dir / PIPELINE_PASSWORD_FILE


def fill_kafka_credentials(settings: Settings) -> Settings:
    """The pipeline's password from its secret file (generated on first use) unless the environment gave one."""
    if settings.kafka_password or not uses_sasl(settings.kafka_security_protocol):
        return settings
    return replace(settings, kafka_password=generated_secret(pipeline_password_file(settings)))


def producer_bootstrap(settings: Settings) -> str:
    """Where external producers connect: the setting, or the local stack's producer listener."""
    if settings.kafka_producer_bootstrap:
        return settings.kafka_producer_bootstrap
    first = settings.kafka_bootstrap.split(",")[0].strip()
    parts = urlsplit(f"//{first}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 19092
    return f"{host}:{port + PRODUCER_PORT_OFFSET}"


def region_b_bootstrap(settings: Settings) -> str:
    """Region B's Kafka (the disaster-recovery drill): the setting, or the local stack's second cluster at
    kafka_bootstrap's port + 10, clear of region A's three listeners."""
    if settings.dr_kafka_bootstrap:
        return settings.dr_kafka_bootstrap
    first = settings.kafka_bootstrap.split(",")[0].strip()
    parts = urlsplit(f"//{first}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 19092
    return f"{host}:{port + REGION_B_PORT_OFFSET}"


def security_config(protocol: str, mechanism: str, username: str, password: str) -> dict[str, Any]:
    """librdkafka's (confluent-kafka's) security properties for one principal."""
    config: dict[str, Any] = {"security.protocol": protocol}
    if uses_sasl(protocol):
        config |= {"sasl.mechanism": mechanism, "sasl.username": username, "sasl.password": password}
    return config


def client_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """A confluent-kafka configuration for the pipeline's principal on the internal listener."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "logger": LIBRDKAFKA_LOG,
        **security_config(
            settings.kafka_security_protocol,
            settings.kafka_sasl_mechanism,
            settings.kafka_username,
            settings.kafka_password,
        ),
        **overrides,
    }


def producer_client_config(settings: Settings, username: str, password: str, **overrides: Any) -> dict[str, Any]:
    """A confluent-kafka configuration for an external producer's SCRAM principal on the producer listener."""
    return {
        "bootstrap.servers": producer_bootstrap(settings),
        "logger": LIBRDKAFKA_LOG,
        **security_config(
            settings.kafka_producer_security_protocol, settings.kafka_producer_sasl_mechanism, username, password
        ),
        **overrides,
    }
