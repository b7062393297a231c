"""Searching through consolidation summaries: an archived original that ranks is answered by its summary.

Consolidation replaces related old memories with a short summary and archives the originals (memory.lifecycle).
The summary keeps only the most important of their sentences, so a question about a detail it left out would no
longer find it. A search therefore still reads the archived originals that have a live summary, and orders them
as it would have before the consolidation; this module turns that order into the hits a caller sees:

- an archived original stands for its summary: the summary takes the original's place (its score and ranks), and
  the original is listed under it (``SummaryHit.originals``, with the 1-based place it ranked at);
- later originals of a summary already shown are listed under it too (down to the last hit shown), not shown
  again;
- the summary itself, ranked on its own words, is one hit like any other;
- an archived memory without a live summary is not shown (it is only found by a search of the archive).

So the first ``top_k`` hits say what an unconsolidated search would have said, in as many items or fewer, and a
summary hit leads to the originals that made it rank (issue 18, point 8). A summary that ranked on its own words
gets its best original by words (``best_by_words``), read afterwards (api.summaries). Pure: the order, the
original-to-summary map and ``top_k`` decide everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from memory.language.words import content_words
from memory.retrieval.scoring import Scored


@dataclass
class SummaryHit:
    """One hit after folding: ``scored`` names the memory shown (a summary stands in its original's place);
    ``originals`` are (archived original id, the 1-based place it ranked at) in rank order."""

    scored: Scored
    originals: list[tuple[str, int]] = field(default_factory=list)


def fold_into_summaries(order: Sequence[Scored], summary_of: Mapping[str, str], top_k: int) -> list[SummaryHit]:
    """The first ``top_k`` hits of ``order`` with each archived original (a key of ``summary_of``, mapped to its
    live summary) folded into its summary. ``order`` must hold no archived memory without a live summary: the
    caller leaves those out (api.search), since nothing here can tell them from an active memory.

    A summary whose originals are shown stands where the first of them ranked, not where its own words did:
    its words are a digest of those same originals, and counting both would push other memories down twice for
    one match (the order an unconsolidated search would give is the goal). A summary none of whose originals
    make the cut stands at its own place."""
    deferred = set(summary_of.values())  # stand at an original's place, if one is shown
    while True:
        hits, end = _fold(order, summary_of, top_k, deferred)
        shown = {h.scored.memory_id for h in hits}
        unshown = {s for s in deferred if s not in shown and _place_of(order, s, end) is not None}
        if not unshown:
            return hits
        deferred -= unshown  # ranked on its own words above the cut, and no original of it made it


def _place_of(order: Sequence[Scored], memory_id: str, end: int) -> int | None:
    return next((place for place, s in enumerate(order[:end], start=1) if s.memory_id == memory_id), None)


def _fold(
    order: Sequence[Scored], summary_of: Mapping[str, str], top_k: int, deferred: set[str]
) -> tuple[list[SummaryHit], int]:
    """``fold_into_summaries`` with the summaries in ``deferred`` left to their originals; and the place it
    stopped at."""
    hits: list[SummaryHit] = []
    shown: dict[str, SummaryHit] = {}
    for place, scored in enumerate(order, start=1):
        summary = summary_of.get(scored.memory_id)
        if summary is None:
            if scored.memory_id in shown or scored.memory_id in deferred:
                continue  # the summary itself: one of its originals brought it, or will
            hit = SummaryHit(scored)
        elif summary in shown:
            shown[summary].originals.append((scored.memory_id, place))
            continue
        else:
            hit = SummaryHit(replace(scored, memory_id=summary), [(scored.memory_id, place)])
        hits.append(hit)
        shown[hit.scored.memory_id] = hit
        if len(hits) >= top_k:
            return hits, place  # originals ranked below the last hit shown are not what made anything rank
    return hits, len(order)


def best_by_words(query: str, originals: Sequence[tuple[str, str]]) -> str | None:
    """Of a summary's (original id, text) in said order, the id sharing the most content words with ``query``
    (the earliest on a tie); None when none shares any: then the summary is its own best answer."""
    asked = content_words(query)
    best, best_shared = None, 0
    for memory_id, text in originals:
        shared = len(asked & content_words(text))
        if shared > best_shared:
            best, best_shared = memory_id, shared
    return best
