"""Sessions a question names: "our first session", "the last session", "3 sessions ago", "sessions 1 through 3".

The reader only says which sessions are meant, as numbers or as a count back; turning that into times needs
the stored sessions of the conversation, which is the caller's business. Numbers count from 1 (the first
session); ``ago`` counts back from the session the question is asked in (0: this session, 1: the last one
before it), so "our last session" and "the previous session" are 1 and "the session before last" is 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.language.time_expressions.numbers import CARDINAL_WORDS, COUNT, ORDINAL, cardinal, ordinal

_SESSION = r"(?:session|conversation|chat)"
_SESSIONS = r"(?:sessions|conversations|chats)"
_ANY_SESSION = r"(?:session|conversation|chat)s?"
_NAMES_A_SESSION = re.compile(rf"\b{_ANY_SESSION}\b", re.I)
# "session 4", but not "the conversation two weeks ago".
_NUMBER = (
    rf"(?:#\s*)?(?:\d+|{CARDINAL_WORDS})"
    r"(?!\w|\s+(?:days?|weeks?|months?|years?|hours?|minutes?|sessions?|conversations?|chats?|ago)\b)"
)
_TO = r"\s*(?:-|\u2013|to|through|thru|until|till|and)\s*"


@dataclass(frozen=True)
class SessionRef:
    """The sessions a question is about: by number (inclusive, from 1) or by how many sessions back."""

    expression: str
    numbers: tuple[int, int] | None = None  # "session 4": (4, 4); "sessions 1 through 3": (1, 3)
    ago: tuple[int, int] | None = None  # "20 sessions ago": (20, 20); "our last three sessions": (1, 3)


def _number(text: str) -> int | None:
    return cardinal(text.lstrip("#").strip())


def _numbered_range(match: re.Match[str]) -> SessionRef | None:
    first, last = _number(match.group("first")), _number(match.group("last"))
    if first is None or last is None or first < 1 or last < first:
        return None
    return SessionRef(match.group(0).strip(), numbers=(first, last))


def _numbered(match: re.Match[str]) -> SessionRef | None:
    number = _number(match.group("number"))
    return None if number is None or number < 1 else SessionRef(match.group(0).strip(), numbers=(number, number))


def _ordinal(match: re.Match[str]) -> SessionRef | None:
    number = 1 if match.group("nth").lower() == "first" else ordinal(match.group("nth"))
    return None if number is None or number < 1 else SessionRef(match.group(0).strip(), numbers=(number, number))


def _first_n(match: re.Match[str]) -> SessionRef | None:
    count = cardinal(match.group("count"))
    return None if not count else SessionRef(match.group(0).strip(), numbers=(1, count))


def _last_n(match: re.Match[str]) -> SessionRef | None:
    count = cardinal(match.group("count"))
    return None if not count else SessionRef(match.group(0).strip(), ago=(1, count))


def _ago(match: re.Match[str]) -> SessionRef | None:
    count = cardinal(match.group("count"))
    return None if count is None else SessionRef(match.group(0).strip(), ago=(count, count))


def _before_last(match: re.Match[str]) -> SessionRef:
    return SessionRef(match.group(0).strip(), ago=(2, 2))


def _previous(match: re.Match[str]) -> SessionRef:
    return SessionRef(match.group(0).strip(), ago=(1, 1))


def _this(match: re.Match[str]) -> SessionRef:
    return SessionRef(match.group(0).strip(), ago=(0, 0))


_READINGS = tuple(
    (re.compile(pattern, re.I), read)
    for pattern, read in (
        (rf"\b(?:between\s+)?{_SESSIONS}\s+(?P<first>{_NUMBER}){_TO}(?P<last>{_NUMBER})\b", _numbered_range),
        (rf"\b{_SESSION}\s+before\s+(?:the\s+)?last\b", _before_last),
        (rf"\b(?P<count>{COUNT})\s+{_ANY_SESSION}\s+(?:ago|back)\b", _ago),
        (rf"\b(?:the|our|my)\s+(?:first|initial)\s+(?P<count>{COUNT})\s+{_SESSIONS}\b", _first_n),
        (rf"\b(?:the|our|my)\s+(?:last|past|previous|latest)\s+(?P<count>{COUNT})\s+{_SESSIONS}\b", _last_n),
        (rf"\b(?:last|previous|prior|latest|most\s+recent)\s+{_SESSION}\b", _previous),
        (rf"\b(?:the|our|my)\s+(?P<nth>first|{ORDINAL})\s+{_SESSION}\b", _ordinal),
        (rf"\b{_SESSION}\s+(?P<number>{_NUMBER})\b", _numbered),
        (rf"\b(?:this|today's|the\s+current)\s+{_SESSION}\b", _this),
    )
)


def find_session(query: str) -> SessionRef | None:
    """The sessions the query names, by the first (most specific) form found, or None."""
    if not _NAMES_A_SESSION.search(query):
        return None  # most queries: one cheap search instead of every pattern
    for pattern, read in _READINGS:
        match = pattern.search(query)
        if match is not None:
            found = read(match)
            if found is not None:
                return found
    return None
