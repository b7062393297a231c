"""What every retriever gets: the request read once (words, time intent, visibility, query vector)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from api.filters import Visibility
from memory.language.time_expressions import TemporalIntent, TimeRange
from memory.retrieval.recipes import Retriever, SearchRecipe
from memory.retrieval.scoring import Found

_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


@dataclass(frozen=True)
class SearchQuery:
    text: str
    recipe: SearchRecipe
    visibility: Visibility
    reference: datetime
    intent: TemporalIntent
    # The query embedding, computing while the retrievers that do not need it (sparse, graph) already run.
    embedding: asyncio.Future[np.ndarray] | None
    scope_key: str

    async def vector(self) -> np.ndarray | None:
        return None if self.embedding is None else await self.embedding

    @property
    def limit(self) -> int:
        return self.recipe.candidates_per_retriever

    @property
    def time_range(self) -> TimeRange | None:
        """The range search narrows and leans on (``TemporalIntent.ranking_range``)."""
        return self.intent.ranking_range

    def words(self) -> list[str]:
        return words_of(self.text)


class RetrieverImpl(Protocol):
    kind: Retriever

    async def retrieve(self, query: SearchQuery) -> list[Found]: ...


def words_of(text: str) -> list[str]:
    """The words a query searches for: letters and digits, with an apostrophe's tail (``Anna's``)."""
    return _WORD.findall(text)


def or_tsquery(words: list[str]) -> str:
    """Any word may match (ranked by how many and how close), unlike websearch_to_tsquery's AND.

    Words are lower-cased alphanumerics; apostrophes are dropped so to_tsquery never sees syntax."""
    cleaned = (re.sub(r"[^a-z0-9]", "", w.lower()) for w in words)
    return " | ".join(dict.fromkeys(w for w in cleaned if w))
