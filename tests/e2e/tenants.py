"""Tenants for the tenancy tests: a running system with authentication on, and credentials for it.

Credentials are HS256 JWTs minted here with the system's shared secret (PyJWT), as a user's identity provider
would: each names one app (the ``app_id`` claim), one user (``sub``) and its scopes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from confluent_kafka import Consumer, TopicPartition

from adapters.kafka_auth import client_config
from memory.settings import Settings
from tests.e2e.conftest import RunningSystem, running_system
from tests.support import bearer, unique, wait_until

SECRET = "tenancy-tests-shared-secret-of-32-bytes-or-more"
READ, WRITE, ADMIN = "memories:read", "memories:write", "admin"
# A read carrying a token waits for the whole pipeline; a shared two-core machine needs more than the default.
CONSISTENCY_TIMEOUT_SECONDS = 60.0


@contextlib.contextmanager
def system_with_auth(stack_settings: Settings, logs: Path) -> Iterator[RunningSystem]:
    with running_system(
        stack_settings,
        logs,
        auth_enabled=True,
        jwt_hs256_secret=SECRET,
        consistency_timeout_seconds=CONSISTENCY_TIMEOUT_SECONDS,
    ) as running:
        yield running


def jwt_for(app: str, user: str, *scopes: str) -> str:
    now = int(time.time())
    claims = {"sub": user, "app_id": app, "scope": " ".join(scopes), "iat": now, "exp": now + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def client_without_credential(system: RunningSystem) -> httpx.Client:
    """A client that sends only the credential each request names (``RunningSystem.client`` sends an admin key)."""
    return httpx.Client(base_url=system.system.base_url, timeout=30)


@dataclass
class Tenant:
    """One app's user, with a read-write JWT of its own and a word that only its texts contain."""

    app: str
    user: str
    marker: str
    memory_ids: set[str] = field(default_factory=set)  # every id it ever had, deleted ones included
    texts: set[str] = field(default_factory=set)

    @property
    def credential(self) -> str:
        return jwt_for(self.app, self.user, READ, WRITE)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.credential)


def new_tenant(app: str, user: str | None = None) -> Tenant:
    # Letters only, no hex digit run: a marker cannot turn up inside a random id by chance.
    marker = "Zq" + "".join(chr(ord("g") + int(c, 16) % 20) for c in unique("")[:8])
    return Tenant(app=app, user=user or unique("user-"), marker=marker)


def add(client: httpx.Client, tenant: Tenant, text: str, **body: Any) -> str:
    """Write ``text`` as the tenant's own (app and user from its credential); the write's consistency token."""
    response = client.post("/v1/memories", json={"text": text, "infer": False, **body}, headers=tenant.headers)
    assert response.status_code == 202, response.text
    tenant.texts.add(text)
    token: str = response.json()["consistency_token"]
    return token


def learn_ids(client: httpx.Client, tenant: Tenant, token: str | None = None) -> list[dict[str, Any]]:
    """The tenant's memories in every state (waiting for ``token`` first); their ids are remembered."""
    params: dict[str, Any] = {"state": ["extracted", "stored", "active", "decaying", "archived", "recalled"]}
    if token:
        params["consistency_token"] = token

    def listed() -> tuple[list[dict[str, Any]]] | None:
        response = client.get("/v1/memories", params=params, headers=tenant.headers)
        return (response.json()["results"],) if response.status_code == 200 else None  # 503: asked again

    (results,) = wait_until(listed, timeout=120, what=f"{tenant.user}'s memories")
    tenant.memory_ids.update(m["id"] for m in results)
    return results


def seed(client: httpx.Client, tenant: Tenant, texts: list[str], **body: Any) -> None:
    """Write the texts and wait until each is a memory the tenant can list."""
    token = ""
    for text in texts:
        token = add(client, tenant, text, **body)
    wait_until(lambda: len(learn_ids(client, tenant, token)) >= len(texts), timeout=120, what=f"{tenant.user}'s seed")


def written(settings: Settings) -> int:
    """How many records the API has produced: the turns and commands topics' end offsets, summed."""
    consumer = Consumer(client_config(settings, **{"group.id": unique("w-")}))
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for topic in (settings.topics.turns, settings.topics.commands)
            for p in range(settings.kafka_partitions)
        )
    finally:
        consumer.close()


def without_id(body: dict[str, Any], memory_id: str) -> dict[str, Any]:
    """A 404 body with the asked id blanked: what must be identical for an unknown and another tenant's id."""
    return {key: (value.replace(memory_id, "<id>") if isinstance(value, str) else value) for key, value in body.items()}
