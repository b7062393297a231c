"""The graph's node labels and how a label prefix namespaces a statement: shared by the projection that writes
the graph, the API's graph retriever and the replay tools that read it.

Statements are written with bare labels (``(m:Memory)``); ``namespaced`` prefixes every one, so a rebuild can
live beside the live graph in one database (Neo4j Community has a single user database).
"""

from __future__ import annotations

import re

LABELS = ("Memory", "Entity", "Topic", "User", "ProjectionCheckpoint")
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")


def namespaced(statement: str, prefix: str) -> str:
    """``statement`` with every label prefixed (and ``{prefix}`` in index names filled in, lower-cased)."""
    if prefix and not _PREFIX.match(prefix):
        raise ValueError(f"invalid Neo4j label prefix {prefix!r}")
    statement = statement.replace("{prefix}", prefix.lower())
    for label in LABELS:
        statement = re.sub(rf":{label}\b", f":{prefix}{label}", statement)
    return statement
