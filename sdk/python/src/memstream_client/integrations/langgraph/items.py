"""How a LangGraph item is a memory, and back (no I/O here).

An item ``(namespace, key) -> value`` is one memory of the user the namespace names, stored verbatim
(``infer=False``). Its metadata identifies it: ``langgraph`` marks store items, ``langgraph.ns`` is the whole
namespace (JSON) and ``langgraph.key`` the key, to read an item back; ``langgraph.id`` (a digest of both) finds
it by key, and ``langgraph.prefix.<n>`` (a digest of the namespace's first n labels, for every n) finds what is
under a prefix: one metadata-equality pair each, which the API applies in a list and in a search. Digests,
because a list's filter travels in the URL and takes short values (``api.params.MetadataFilter``) while labels
and keys may be long. The API cannot change a memory's metadata, only its text, so the identity is fixed at
the first ``put`` and the value lives in the text:

    <namespace/key> #<12 digits>
    <the value as JSON>

The whole text is what search indexes (BM25 and the embedding), so the value's words are searchable. The
first line makes every item's text differ from every other's, and its digits make the lifecycle's duplicate
rule (``memory.lifecycle.dedupe``: two texts are never one fact unless their numbers and codes agree) keep two
items with the same value apart: otherwise the second would be merged into the first and its key lost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.store.base import InvalidNamespaceError

MARKER_KEY = "langgraph"
MARKER_VALUE = "item"
NAMESPACE_KEY = "langgraph.ns"
KEY_KEY = "langgraph.key"
ID_KEY = "langgraph.id"
PREFIX_KEY = "langgraph.prefix"
# memstream keeps at most 50 metadata pairs and 1000 characters a value: 5 for the identity and the marker of
# turns that are not conversation, one per label.
MAX_DEPTH = 40
MAX_LABEL_CHARS = 1000
# Every state but forgotten: an item stays readable by key while it fades, and after consolidation.
ITEM_STATES = ["extracted", "stored", "active", "decaying", "consolidating", "archived", "recalled"]


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def check_namespace(namespace: Sequence[str], key: str | None = None) -> None:
    """What memstream's metadata can hold (LangGraph has already refused empty labels and periods)."""
    if len(namespace) > MAX_DEPTH:
        raise InvalidNamespaceError(f"memstream keeps namespaces of at most {MAX_DEPTH} labels; got {len(namespace)}")
    for label in namespace:
        if len(label) > MAX_LABEL_CHARS:
            raise InvalidNamespaceError(
                f"a namespace label has {len(label)} characters; the limit is {MAX_LABEL_CHARS}"
            )
    if key is not None and (not key or len(key) > MAX_LABEL_CHARS):
        raise ValueError(f"a key must have 1 to {MAX_LABEL_CHARS} characters; got {len(key)}")


def prefix_metadata(prefix: Sequence[str]) -> dict[str, str]:
    """The pairs every item under ``prefix`` carries (the marker only, for the empty prefix)."""
    wanted = {MARKER_KEY: MARKER_VALUE}
    if prefix:
        wanted[f"{PREFIX_KEY}.{len(prefix)}"] = digest(list(prefix))
    return wanted


def item_metadata(namespace: Sequence[str], key: str) -> dict[str, str]:
    prefixes = {f"{PREFIX_KEY}.{n}": digest(list(namespace[:n])) for n in range(1, len(namespace) + 1)}
    return {
        **identity_metadata(namespace, key),
        **prefixes,
        NAMESPACE_KEY: json.dumps(list(namespace), ensure_ascii=False),
        KEY_KEY: key,
    }


def identity_metadata(namespace: Sequence[str], key: str) -> dict[str, str]:
    """The pairs that find one item (``get`` by key)."""
    return {MARKER_KEY: MARKER_VALUE, ID_KEY: digest(list(namespace), key)}


def item_code(namespace: Sequence[str], key: str) -> str:
    return str(int(digest(list(namespace), key)[:15], 16) % 10**12).zfill(12)


def item_text(namespace: Sequence[str], key: str, value: Mapping[str, Any]) -> str:
    header = f"{'/'.join(namespace)}/{key} #{item_code(namespace, key)}"
    return header + "\n" + json.dumps(dict(value), ensure_ascii=False, sort_keys=True)


def value_of(text: str) -> dict[str, Any]:
    _, _, body = text.partition("\n")
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("a LangGraph item's memory does not hold a JSON object")
    return value


def identity_of(metadata: Mapping[str, str]) -> tuple[tuple[str, ...], str] | None:
    """The (namespace, key) of a store item's memory; None for any other memory."""
    if metadata.get(MARKER_KEY) != MARKER_VALUE or NAMESPACE_KEY not in metadata or KEY_KEY not in metadata:
        return None
    return tuple(json.loads(metadata[NAMESPACE_KEY])), metadata[KEY_KEY]


# --- filters on values (LangGraph's SearchOp.filter) ------------------------------------------------------------

_COMPARE = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def check_filter(conditions: Mapping[str, Any] | None) -> None:
    for field, wanted in (conditions or {}).items():
        if isinstance(wanted, dict) and any(op.startswith("$") for op in wanted):
            unknown = [op for op in wanted if op not in _COMPARE]
            if unknown:
                raise ValueError(f"filter on {field!r}: unknown operator {unknown[0]!r}; known: {sorted(_COMPARE)}")


def matches(value: Mapping[str, Any], conditions: Mapping[str, Any] | None) -> bool:
    """LangGraph's filter semantics: each field (a dotted path into the value) equals the wanted value, or
    passes every ``$eq``/``$ne``/``$gt``/``$gte``/``$lt``/``$lte`` given; a comparison of values that cannot be
    ordered fails the item."""
    for field, wanted in (conditions or {}).items():
        found, actual = _at(value, field)
        if isinstance(wanted, dict) and any(op.startswith("$") for op in wanted):
            for op, operand in wanted.items():
                try:
                    passed = found and bool(_COMPARE[op](actual, operand))
                except TypeError:
                    passed = False
                if op == "$ne" and not found:
                    passed = True
                if not passed:
                    return False
        elif not found or actual != wanted:
            return False
    return True


def _at(value: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


# --- namespaces (list_namespaces) -------------------------------------------------------------------------------


def fits(namespace: tuple[str, ...], path: Sequence[str], at_end: bool) -> bool:
    """Does ``namespace`` start (or end, ``at_end``) with ``path``, '*' matching any one label?"""
    if len(path) > len(namespace):
        return False
    labels = namespace[len(namespace) - len(path) :] if at_end else namespace[: len(path)]
    return all(want in ("*", have) for want, have in zip(path, labels, strict=True))
