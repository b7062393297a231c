"""Milvus filter expressions over the memory collection, built in one place for every reader and writer.

The projector (reads before writes, erasures), the API's dense retriever (``api.filters.Visibility``), the
stream agents' similar-memory lookup and the replay tools (erasure proof, snapshots) all filter the same
collection by scope, state and id. Ids and scope values are user input, so every string goes through
``literal``, the one function that spells a Python string as a Milvus string literal.

How Milvus reads a string literal (``Plan.g4``: ``"`` then any character but ``"``, ``\\``, CR and LF, or
an escape sequence, or a backslash followed by a line break, then ``"``) and then decodes it:
- a Milvus server (Go) undoes the escapes with ``strconv.Unquote``: ``\\"`` is ``"``, ``\\\\`` is ``\\``,
  ``\\n`` is a line feed; a backslash before a line break is a syntax error;
- Milvus Lite (C++, the local stack) undoes them with ``std::quoted``: a backslash takes the next character
  as it is, so ``\\"`` and ``\\\\`` read the same, but ``\\n`` is the letter ``n``, and a backslash before
  a line break is that line break.
Escaping ``\\`` and ``"`` with a backslash therefore means the same on both, and every other character
except CR and LF may stand as it is (tested against Milvus Lite: ``'``, ``) or (``, tabs, other control
characters, non-ASCII). A line feed has no spelling both read the same: ``\\n`` would make Milvus Lite
match the letter ``n`` (another row: failing open), so it is written as a backslash before the line feed,
which Milvus Lite reads as the line feed and a Milvus server refuses as a syntax error (failing closed). A
carriage return has no spelling at all that reaches the literal, so it is refused here. Neither can come
from a client: ``memory.contract.validation`` admits only ``[A-Za-z0-9_.:@-]`` in ids, so this is defence in depth.
(Milvus 2.5 servers also take expression templates with out-of-band values, ``filter_params``; Milvus Lite
2.5 does not, so the local stack could not run them.)
"""

from __future__ import annotations

from collections.abc import Iterable


class UnsafeLiteral(ValueError):
    """A value no Milvus string literal can carry exactly."""


def literal(value: str) -> str:
    """``value`` as a double-quoted Milvus string literal that reads back as exactly ``value``."""
    if "\r" in value:
        raise UnsafeLiteral(f"a Milvus string literal cannot carry a carriage return: {value!r}")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\\n")
    return f'"{escaped}"'


def equals(field: str, value: str) -> str:
    return f"{field} == {literal(value)}"


def differs(field: str, value: str) -> str:
    return f"{field} != {literal(value)}"


def one_of(field: str, values: Iterable[str]) -> str:
    return f"{field} in [" + ",".join(literal(v) for v in values) + "]"


def all_of(*conditions: str) -> str:
    return " and ".join(conditions)


def scope_filter(app_id: str, user_id: str, agent_id: str | None = None, run_id: str | None = None) -> str:
    """The rows of one user (narrowed to one agent and/or run when given; the columns hold "" for none)."""
    parts = [equals("app_id", app_id), equals("user_id", user_id)]
    if agent_id is not None:
        parts.append(equals("agent_id", agent_id))
    if run_id is not None:
        parts.append(equals("run_id", run_id))
    return all_of(*parts)


def ids_filter(memory_ids: Iterable[str]) -> str:
    return one_of("memory_id", memory_ids)


def in_states(app_id: str, user_id: str, states: Iterable[str]) -> str:
    """The user's rows in these lifecycle states (what a search may see now)."""
    return all_of(scope_filter(app_id, user_id), one_of("state", states))
