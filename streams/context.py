"""What the agents share, built once at start-up: codec, extractor, embedder, topic names."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from memory.codec import Codec
from memory.extraction import EXTRACTOR_NAME, extract_facts
from memory.extraction_types import ExtractedFact, TurnInput
from memory.settings import Settings
from models.embedder import Embedder, build_embedder

log = logging.getLogger(__name__)

Extractor = Callable[[TurnInput], list[ExtractedFact]]


@dataclass
class StreamContext:
    settings: Settings
    codec: Codec
    extractor: Extractor
    extractor_name: str
    embedder_factory: Callable[[], Embedder]
    _embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        # Loaded on first use, once: the worker joins its group before paying the model's load time.
        if self._embedder is None:
            self._embedder = self.embedder_factory()
        return self._embedder


def build_context(settings: Settings) -> StreamContext:
    extractor: Extractor = extract_facts
    name = EXTRACTOR_NAME
    if settings.llm_base_url:
        from models.llm_extractor import LLMExtractor

        llm = LLMExtractor.from_settings(settings, fallback=extract_facts)
        extractor, name = llm.extract, f"llm:{settings.llm_model}"
    return StreamContext(
        settings=settings,
        codec=Codec(),
        extractor=extractor,
        extractor_name=name,
        embedder_factory=lambda: build_embedder(settings),
    )
