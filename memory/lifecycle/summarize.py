"""The offline summariser for consolidation: pick sentences, never write new ones (extractive).

Given the memories of one consolidation group, it keeps the most important distinct sentences that fit
a character budget and lays them out in time order, so the summary says nothing the originals did not.
Deterministic: the same memories, in any order, give the same text.

Decisions where the issue is silent:

- The unit is the sentence, not the memory: a long verbatim memory contributes its important sentences
  without dragging the rest in. A sentence inherits its memory's importance.
- Repeats collapse by normalised text per speaker (``memory.lifecycle.dedupe.normalise``), keeping the earliest
  position and the highest importance of the copies.
- Ties in importance go to the earlier sentence: it is the one the later ones were built on.
- Speakers: the summary is grouped by speaker in order of first appearance ("Caroline: a. c. Melanie:
  b."), so each prefix appears once; within a speaker, time order. A memory without a prefix is grouped
  on its own, first if it came first, with no prefix.
- The budget is in characters (the core has no tokenizer; roughly 4 characters per token of English).
  If even the most important sentence does not fit, it is cut at a word boundary with an ellipsis rather
  than returning nothing: a consolidation must not lose its whole group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from memory.language.sentences import split_sentences, split_speaker
from memory.lifecycle.dedupe import normalise

# ~300 tokens: room for the ~8 facts of a full consolidation group (``memory.lifecycle.consolidation``), about one
# line each, while still a fraction of the tokens of the originals it replaces.
DEFAULT_MAX_CHARS = 1200
# A summary stands for its originals in every search and context, so it must be much smaller than they are or
# consolidating saves nothing (it kept ~93 % of the tokens when it could take all 1,200 characters). The sentences it
# leaves out are not lost: a search still reads the archived originals and answers them through the summary
# (memory.retrieval.through_summaries).
SUMMARY_SHARE = 0.3
MIN_SUMMARY_CHARS = 160  # room for one ordinary sentence however short the originals are
ELLIPSIS = "…"


@dataclass(frozen=True)
class SummaryItem:
    """One memory to summarise."""

    text: str
    importance: float
    occurred_at: datetime


class Summarizer(Protocol):
    """Anything that turns a consolidation group into one text within ``max_chars`` (these rules, an LLM)."""

    def summarize(self, items: Sequence[SummaryItem], max_chars: int) -> str: ...


@dataclass(frozen=True)
class _Sentence:
    speaker: str | None
    text: str
    importance: float
    position: int  # in time order over the whole group


def _sentences(items: Sequence[SummaryItem]) -> list[_Sentence]:
    """Every distinct sentence of the group, in time order."""
    ordered = sorted(items, key=lambda i: (i.occurred_at, -i.importance, i.text))
    found: dict[tuple[str, str], _Sentence] = {}
    position = 0
    for item in ordered:
        speaker, body = split_speaker(item.text)
        for raw in split_sentences(body):
            text = raw if raw[-1] in ".!?…" else raw + "."
            key = ((speaker or "").casefold(), normalise(text))
            if not key[1]:
                continue
            seen = found.get(key)
            if seen is None:
                found[key] = _Sentence(speaker, text, item.importance, position)
                position += 1
            elif item.importance > seen.importance:
                found[key] = _Sentence(seen.speaker, seen.text, item.importance, seen.position)
    return sorted(found.values(), key=lambda s: s.position)


def _render(chosen: Sequence[_Sentence]) -> str:
    """Grouped by speaker in order of first appearance, each group in time order."""
    groups: dict[str, tuple[str | None, list[str]]] = {}
    for sentence in sorted(chosen, key=lambda s: s.position):
        key = (sentence.speaker or "").casefold()
        groups.setdefault(key, (sentence.speaker, []))[1].append(sentence.text)
    parts = []
    for speaker, texts in groups.values():
        body = " ".join(texts)
        parts.append(f"{speaker}: {body}" if speaker else body)
    return " ".join(parts)


def _cut(text: str, max_chars: int) -> str:
    """``text`` shortened to ``max_chars`` at a word boundary, ending in an ellipsis."""
    if len(text) <= max_chars:
        return text
    if max_chars <= len(ELLIPSIS):
        return ELLIPSIS[:max_chars]
    head = text[: max_chars - len(ELLIPSIS)]
    ends_a_word = text[len(head)].isspace()
    if not ends_a_word and " " in head.strip():
        head = head[: head.rstrip().rfind(" ")]  # drop the word the cut went through
    return head.rstrip(" ,;:") + ELLIPSIS


def summary_budget(items: Sequence[SummaryItem]) -> int:
    """The characters a summary of ``items`` may take: ``SUMMARY_SHARE`` of theirs, within
    [``MIN_SUMMARY_CHARS``, ``DEFAULT_MAX_CHARS``]."""
    share = int(sum(len(item.text) for item in items) * SUMMARY_SHARE)
    return max(MIN_SUMMARY_CHARS, min(DEFAULT_MAX_CHARS, share))


def summarize(items: Sequence[SummaryItem], max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The most important distinct sentences of ``items`` within ``max_chars``, by speaker, in time order."""
    if max_chars <= 0:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    sentences = _sentences(items)
    if not sentences:
        return ""
    chosen: list[_Sentence] = []
    for sentence in sorted(sentences, key=lambda s: (-s.importance, s.position)):
        if len(_render([*chosen, sentence])) <= max_chars:
            chosen.append(sentence)
    if not chosen:
        return _cut(_render([min(sentences, key=lambda s: (-s.importance, s.position))]), max_chars)
    return _render(chosen)


class ExtractiveSummarizer:
    """The offline ``Summarizer``: ``summarize`` of this module."""

    def summarize(self, items: Sequence[SummaryItem], max_chars: int = DEFAULT_MAX_CHARS) -> str:
        return summarize(items, max_chars)
