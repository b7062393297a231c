"""Read your writes: the consistency tokens of a client's latest writes, per (app, user), until a read sees them.

A token names log positions of one write; a read that carries it waits until the pipeline has applied it. Writes
go to one of two topics: ``add`` and archival inserts to the turns topic, every other edit (update, delete, blocks)
to the commands topic. A user's writes to one topic share a partition (the key is the user), so the latest token
per topic covers the earlier ones to that topic; but a command token says nothing about a turn written before
it. The book therefore keeps the latest token per user *and* topic: a read passes one of them and, when the user
has a pending write on both topics, first waits for the other (``Memstream.wait_for``).

A token is forgotten once a read that carried it answered (the write is visible), so later reads do not wait.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum

REMEMBERED = 10_000


class Topic(Enum):
    """Where a write's events go, which decides which earlier tokens a new one replaces."""

    TURNS = "turns"
    COMMANDS = "commands"


@dataclass(frozen=True)
class Scope:
    """Whose data, as the caller named it: None is the credential's own app or user."""

    app_id: str | None
    user_id: str | None


class TokenBook:
    def __init__(self) -> None:
        self._pending: dict[Scope, dict[Topic, str]] = {}
        # token → the scope it was written in, so that wait_for(token) needs no user; the newest REMEMBERED only.
        self._scopes: dict[str, Scope] = {}
        self._lock = threading.Lock()  # a sync client may be shared by threads

    def wrote(self, scope: Scope, topic: Topic, token: str) -> None:
        with self._lock:
            self._pending.setdefault(scope, {})[topic] = token
            self._scopes[token] = scope
            while len(self._scopes) > REMEMBERED:
                del self._scopes[next(iter(self._scopes))]  # dicts keep insertion order: the oldest goes

    def pending(self, scope: Scope) -> list[str]:
        """The tokens a read of ``scope`` must wait for (at most one per topic)."""
        with self._lock:
            return list(self._pending.get(scope, {}).values())

    def scope_of(self, token: str) -> Scope | None:
        with self._lock:
            return self._scopes.get(token)

    def seen(self, scope: Scope, tokens: list[str]) -> None:
        """These writes of ``scope`` are visible now: forget them (a newer token of the same topic stays)."""
        with self._lock:
            by_topic = self._pending.get(scope, {})
            for token in tokens:
                self._scopes.pop(token, None)
                for topic, held in list(by_topic.items()):
                    if held == token:
                        del by_topic[topic]
            if not by_topic:
                self._pending.pop(scope, None)
