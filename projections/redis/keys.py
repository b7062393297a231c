"""The Redis key layout, shared by the projection that writes it, the API's hot cache and the replay tools.

- ``<prefix>gen:<scope>``: the scope's cache generation (the offset of its latest memory event);
- ``<cache prefix>search:<scope>:<epoch digest>:<request digest>``: one cached search (``api.cache``).
The projection deletes an erased scope's cached searches by pattern, so the pattern and the key are defined
side by side here.
"""

from __future__ import annotations

import re

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def generation_key(prefix: str, scope_key: str) -> str:
    return f"{prefix}gen:{scope_key}"


def search_key(prefix: str, scope_key: str, epoch: str, request_digest: str) -> str:
    return f"{prefix}search:{scope_key}:{epoch}:{request_digest}"


def glob_escaped(text: str) -> str:
    """``text`` matched literally by a Redis glob pattern (user ids may contain ``*``, ``?`` or ``[``)."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def search_pattern(prefix: str, scope_key: str) -> str:
    """The keys of the scope's cached searches (``search_key``). A scope that is this one followed by a colon
    ("u" and "u:x") would match too: for an erasure that errs on the side of deleting another user's cache
    entries (a cache miss), never of keeping this user's."""
    return f"{glob_escaped(prefix)}search:{glob_escaped(scope_key)}:*"
