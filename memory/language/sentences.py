"""Where sentences end, and the speaker label in front of a line of dialogue.

Two splitters for two needs, one function:

- Strict (the default): a sentence ends at ``.``, ``!`` or ``?`` followed by whitespace and something that
  can open a sentence (a capital, a digit, a quote). "e.g. this", "3.5" and "Mr. smith" stay whole. The
  extractor and the summariser use it: a wrong split makes a fact or a summary sentence that is half a thought.
- Clauses (``clauses=True``): every ``.``, ``!``, ``?`` and ``;`` ends a piece, whatever follows. The
  contradiction rules use it: all-lowercase chat ("i might move. i live in paris") must still split, or a
  hedge in one sentence ("might") would make the next one hypothetical too.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'\u201c\u2018A-Z0-9])")
_CLAUSE = re.compile(r"[^.!?;]+[.!?;]?")
# Punctuation and openers that may stand between a sentence end and the next sentence's first word.
_OPENERS = " \t\r\n\"'\u201c\u2018([{*_-"
_ENDS = ".!?\u2026"

# A leading "Name: " (up to four words, colon then whitespace), as ``memory.ingest.extraction.extract_facts`` writes
# it. "10:30" and "http://x" do not match; ``split_speaker`` further requires capitalised words and rejects
# ones a sentence starts with, so a verbatim "I love coffee: it's great" keeps its "I".
_SPEAKER_PREFIX = re.compile(r"^\s*([^\W\d_][\w'.\-]*(?: [^\W\d_][\w'.\-]*){0,3}):\s+")
_NOT_SPEAKERS = frozenset({"i", "my", "we", "our", "you", "your", "the", "a", "an", "this", "that", "it", "its"})
_NOT_SPEAKERS |= {"these", "those", "here", "there"}


def split_sentences(text: str, *, clauses: bool = False) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped (see the module docstring for ``clauses``)."""
    parts = _CLAUSE.findall(text) if clauses else _SENTENCE_END.split(text.strip())
    return [p.strip() for p in parts if p.strip()]


def opens_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` is the first of its sentence: nothing but openers before it, or a
    sentence end (quotes and brackets between are skipped: '... it. "Paris was' opens with Paris)."""
    before = text[:start].rstrip(_OPENERS)
    return not before or before[-1] in _ENDS


def split_speaker(text: str) -> tuple[str | None, str]:
    """``"Caroline: I love coffee"`` → ``("Caroline", "I love coffee")``; no prefix → ``(None, text)``."""
    match = _SPEAKER_PREFIX.match(text)
    if match is None:
        return None, text.strip()
    words = match.group(1).split()
    if words[0].casefold() in _NOT_SPEAKERS or not all(w[0].isupper() for w in words):
        return None, text.strip()
    return match.group(1), text[match.end() :].strip()
