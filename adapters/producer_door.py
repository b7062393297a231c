"""The producer door: SCRAM credentials for external producers, each allowed to write the turns topic and nothing else.

A producer credential is a SCRAM user in the broker's metadata (created through the Admin API, no restart) and
two ACLs on the turns topic: WRITE and DESCRIBE (a producer needs the topic's metadata to find its partitions).
Idempotent producers need nothing more: since Kafka 3.0 WRITE on a topic implies the right to an idempotent
producer id. Nothing else is granted, and the authorizer denies whatever no ACL allows, so a producer cannot
read any topic, join a consumer group, write the memory log, commands or dead letters, create a topic or change
a configuration. The broker accepts SCRAM on the producer listener only (``infra/local/services/kafka.py``).

Managed by the pipeline's principal (a super user): ``memstream producers create|list|revoke`` and
``memstream run``, which keeps one credential for the local machine (``DEFAULT_PRODUCER``).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from adapters.kafka import PRODUCER_CONFIG, make_admin
from adapters.kafka_auth import producer_bootstrap, producer_client_config, super_users
from adapters.secret_files import SECRETS_DIR, generated_secret
from memory.settings import Settings

DEFAULT_PRODUCER = "memstream-producer"
# Kafka's minimum for SCRAM (4096) doubled; hashing is paid once per connection, not per message.
SCRAM_ITERATIONS = 8192
PRODUCER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
GRANTED = (AclOperation.WRITE, AclOperation.DESCRIBE)
TIMEOUT_S = 30.0


class ProducerDoorError(ValueError):
    pass


@dataclass(frozen=True)
class ProducerCredential:
    username: str
    mechanisms: tuple[str, ...]
    # Its ACLs, as "ALLOW WRITE topic memstream.turns.v1".
    grants: tuple[str, ...]


def producer_password_file(settings: Settings, username: str) -> Path:
    """Where this machine keeps a producer's password (``memstream run`` and ``memstream producers create``)."""
    return settings.data_dir / SECRETS_DIR / f"kafka-producer-{_checked(settings, username)}.password"


def ensure_producer(settings: Settings, username: str) -> Path:
    """The credential this machine keeps for ``username``: a password generated once into a secret file, and the
    SCRAM user and ACLs applied again (idempotent; repairs a broker whose storage was reset). Returns the file."""
    path = producer_password_file(settings, username)
    grant(settings, username, generated_secret(path))
    return path


def grant(settings: Settings, username: str, password: str) -> None:
    """Create (or reset the password of) ``username`` and allow it to write the turns topic. Idempotent."""
    _checked(settings, username)
    admin = make_admin(settings)
    info = ScramCredentialInfo(_mechanism(settings), SCRAM_ITERATIONS)
    upsert = UserScramCredentialUpsertion(username, info, password.encode())
    _wait(admin.alter_user_scram_credentials([upsert], request_timeout=TIMEOUT_S).values())
    bindings = [
        AclBinding(
            ResourceType.TOPIC,
            settings.topics.turns,
            ResourcePatternType.LITERAL,
            f"User:{username}",
            "*",
            op,
            AclPermissionType.ALLOW,
        )
        for op in GRANTED
    ]
    _wait(admin.create_acls(bindings, request_timeout=TIMEOUT_S).values())
    _until_broker_knows(admin, username, lambda exists, acls: exists and acls >= len(GRANTED))


def revoke(settings: Settings, username: str) -> bool:
    """Delete every ACL of ``username`` and its SCRAM credential; False when it had neither."""
    _checked(settings, username)
    admin = make_admin(settings)
    acls = _acl_filter(f"User:{username}")
    deleted = [
        binding
        for future in admin.delete_acls([acls], request_timeout=TIMEOUT_S).values()
        for binding in future.result()
    ]
    deletion = UserScramCredentialDeletion(username, _mechanism(settings))
    try:
        _wait(admin.alter_user_scram_credentials([deletion], request_timeout=TIMEOUT_S).values())
        existed = True
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.RESOURCE_NOT_FOUND:
            raise
        existed = bool(deleted)
    _until_broker_knows(admin, username, lambda exists, acls: not exists and acls == 0)
    return existed


def list_producers(settings: Settings) -> list[ProducerCredential]:
    """Every SCRAM user of the broker with what its ACLs allow (the pipeline's principals are not SCRAM users)."""
    admin = make_admin(settings)
    users = admin.describe_user_scram_credentials(request_timeout=TIMEOUT_S).result()  # type: ignore[union-attr]
    grants: dict[str, list[str]] = defaultdict(list)
    for binding in admin.describe_acls(_acl_filter(None), request_timeout=TIMEOUT_S).result():
        grants[binding.principal.removeprefix("User:")].append(
            f"{binding.permission_type.name} {binding.operation.name} {binding.restype.name.lower()} {binding.name}"
        )
    return [
        ProducerCredential(
            name,
            tuple(sorted(info.mechanism.name.replace("_", "-") for info in description.scram_credential_infos)),
            tuple(sorted(grants.get(name, []))),
        )
        for name, description in sorted(users.items())
    ]


def make_door_producer(settings: Settings, username: str, password: str, **overrides: Any) -> DoorProducer:
    """A producer that writes through the door as ``username``; ``DoorProducer.check`` tells why it cannot."""
    refusals: list[KafkaError] = []
    config = producer_client_config(
        settings, username, password, **PRODUCER_CONFIG, error_cb=refusals.append, **overrides
    )
    return DoorProducer(Producer(config), username, producer_bootstrap(settings), refusals)


@dataclass
class DoorProducer:
    producer: Producer
    username: str
    bootstrap: str
    # Errors librdkafka reports outside any one message (a refused login); served by poll().
    refusals: list[KafkaError]

    def check(self, topic: str, timeout: float = 15.0) -> None:
        """Raise ProducerDoorError saying why ``topic`` cannot be written through the door, if it cannot."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                metadata = self.producer.list_topics(topic, timeout=1.0)
                break
            except KafkaException as exc:
                self.producer.poll(0)  # serve error_cb: a refused login shows there, not in list_topics
                refused = [e for e in self.refusals if e.code() == KafkaError._AUTHENTICATION]
                if refused:
                    raise ProducerDoorError(
                        f"the producer listener at {self.bootstrap} refused {self.username!r}: {refused[0].str()}"
                    ) from None
                if time.monotonic() > deadline:
                    raise ProducerDoorError(
                        f"no answer from the producer listener at {self.bootstrap}: {exc}"
                    ) from None
        error = metadata.topics[topic].error if topic in metadata.topics else None
        if error is None:
            return
        if error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            raise ProducerDoorError(f"{self.username!r} may not write {topic} (no ACL grants it)")
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise ProducerDoorError(f"{topic} does not exist yet; producers cannot create it (start memstream first)")
        raise ProducerDoorError(f"{topic}: {error.str()}")


def _until_broker_knows(admin: AdminClient, username: str, done: Callable[[bool, int], bool]) -> None:
    """Wait until the broker applies what the controller committed, so that the caller's next connection meets
    the credential as changed (the broker follows the metadata log a moment behind the controller)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            admin.describe_user_scram_credentials([username], request_timeout=TIMEOUT_S)[username].result()  # type: ignore[index]
            exists = True
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.RESOURCE_NOT_FOUND:
                raise
            exists = False
        acls = len(admin.describe_acls(_acl_filter(f"User:{username}"), request_timeout=TIMEOUT_S).result())
        if done(exists, acls):
            return
        if time.monotonic() > deadline:
            raise ProducerDoorError(f"the broker did not apply the change to {username!r} within {TIMEOUT_S:.0f} s")
        time.sleep(0.1)


def _acl_filter(principal: str | None) -> AclBindingFilter:
    """Every ACL of ``principal`` (None: of everyone) on any resource. None matches anything; the library's
    type hints say ``str`` only."""
    anything: Any = None
    return AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.ANY,
        principal if principal else anything,
        anything,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def _checked(settings: Settings, username: str) -> str:
    if not PRODUCER_NAME.fullmatch(username):
        raise ProducerDoorError(
            f"producer name {username!r}: 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit"
        )
    if username in super_users(settings):
        raise ProducerDoorError(f"{username!r} is the pipeline's own principal, not a producer name")
    return username


def _mechanism(settings: Settings) -> ScramMechanism:
    name = settings.kafka_producer_sasl_mechanism.upper().replace("-", "_")
    try:
        return ScramMechanism[name]
    except KeyError:
        raise ProducerDoorError(
            f"MEMSTREAM_KAFKA_PRODUCER_SASL_MECHANISM must be SCRAM-SHA-512 or SCRAM-SHA-256, not "
            f"{settings.kafka_producer_sasl_mechanism!r}"
        ) from None


def _wait(futures: Iterable[Future[Any]]) -> None:
    for future in futures:
        future.result(timeout=TIMEOUT_S)
