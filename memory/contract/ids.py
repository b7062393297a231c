"""Deterministic ids: reprocessing the same input yields the same ids, so duplicates collapse downstream."""

from __future__ import annotations

import re
import uuid

NAMESPACE = uuid.UUID("6f1c9a52-3d1e-5b8e-9a3c-6d656d737472")  # fixed forever: changing it re-keys every memory


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def memory_id_for(turn_event_id: str, position: int) -> str:
    """The id of the ``position``-th memory extracted from the turn event ``turn_event_id``."""
    return derived_id("memory", turn_event_id, str(position))


def derived_event_id(cause_event_id: str, event_type: str, position: int = 0) -> str:
    """The id of an event caused by another: same cause, same derived event."""
    return derived_id("event", cause_event_id, event_type, str(position))


def normalise_name(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def entity_id_for(scope_key: str, name: str) -> str:
    """Entities are per user scope: two users' "Sarah" are different people."""
    return derived_id("entity", scope_key, normalise_name(name))


def turn_event_id_for(scope_key: str, conversation_id: str, turn_id: str) -> str:
    """Producers that re-send a conversation file get the same event ids, so nothing is extracted twice."""
    return derived_id("turn", scope_key, conversation_id, turn_id)
