"""Passwords inside store addresses: read one, put one in, hide one. Pure string work.

Two address forms carry a password: URLs (``postgresql://user:pw@host/db``, ``redis://:pw@host/0``, or
``?password=pw`` when the URL has no host part, e.g. a Unix socket) and libpq's ``key=value`` connection
strings (``host=h user=u password='p w'``). A URL stays a URL when a password goes in (percent-encoded),
because code derives other addresses from it (``projections.targets.with_search_path`` edits its query).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit

HIDDEN = "***"
# A libpq keyword value: single-quoted with backslash escapes, or a run of non-blanks.
_KEYWORD_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|[^\s']+)", re.IGNORECASE)
# The same in a URL's query string: the value ends at the next parameter.
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&]password=)(?P<value>[^&#]*)", re.IGNORECASE)


def is_url(address: str) -> bool:
    return "://" in address


def password_in(address: str) -> str | None:
    """The password the address carries, or None."""
    if is_url(address):
        parts = urlsplit(address)
        if parts.password is not None:
            return unquote(parts.password)
        query = dict(parse_qsl(parts.query))
        return query.get("password")
    found = _KEYWORD_PASSWORD.search(address)
    return _unquote_keyword(found.group("value")) if found else None


def with_password(address: str, password: str) -> str:
    """The address carrying ``password``; an address that already carries one is returned unchanged."""
    if not password or password_in(address) is not None:
        return address
    if not is_url(address):
        return f"{address} password={_quote_keyword(password)}".strip()
    parts = urlsplit(address)
    if not parts.netloc:  # no host part (a socket path): libpq and redis-py both read ?password=
        query = [*parse_qsl(parts.query), ("password", password)]
        return _unsplit(parts._replace(query=urlencode(query, quote_via=quote)))
    userinfo, at, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0] if at else ""
    return _unsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def redacted(address: str) -> str:
    """The address with its password replaced by ``***``: what logs, errors and reprs may show."""
    if is_url(address):
        parts = urlsplit(address)
        if parts.password is not None:
            userinfo, _, host = parts.netloc.rpartition("@")
            address = _unsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:{HIDDEN}@{host}"))
        return _QUERY_PASSWORD.sub(lambda m: m.group("key") + HIDDEN, address)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("key") + HIDDEN, address)


def _quote_keyword(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote_keyword(value: str) -> str:
    if len(value) >= 2 and value.startswith("'") and value.endswith("'"):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _unsplit(parts: SplitResult) -> str:
    """``urlunsplit`` that keeps the ``//`` of an empty host part (``postgresql:///db``), which the standard
    library drops for schemes it does not know."""
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{query}{fragment}"
