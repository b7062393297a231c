"""What the agents share, built once at start-up: codec, extractor, embedder, topic names."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import numpy as np

from memory.contract.codec import Codec
from memory.contract.events import Scope
from memory.ingest.extraction import EXTRACTOR_NAME, extract_facts
from memory.ingest.extraction_types import ExtractedFact, TurnInput
from memory.lifecycle.decisions import LifecyclePolicy
from memory.lifecycle.state import LIVE_STATES
from memory.settings import Settings
from models.embedder import Embedder, build_embedder
from projections.milvus.expressions import in_states

log = logging.getLogger(__name__)

Extractor = Callable[[TurnInput], list[ExtractedFact]]
NEIGHBOURS = 5
RECENT_VECTORS = 256  # per user: repeats that arrive before the dense index has the original


def policy_from(settings: Settings) -> LifecyclePolicy:
    policy = LifecyclePolicy(
        age_threshold=timedelta(days=settings.consolidation_age_days),
        token_budget=settings.consolidation_token_budget,
        max_summaries_per_tick=settings.consolidation_max_summaries_per_tick,
        dedupe_threshold=settings.dedupe_similarity,
        consolidate=settings.consolidation_enabled,
        decay=settings.decay_enabled,
    )
    if not settings.llm_base_url:
        return policy
    from models.llm_summarizer import LLMSummarizer

    llm = LLMSummarizer.from_settings(settings)
    return replace(policy, summarizer=llm.summarize, summarizer_name=llm.name)


@dataclass
class StreamContext:
    settings: Settings
    codec: Codec
    extractor: Extractor
    extractor_name: str
    embedder_factory: Callable[[], Embedder]
    policy: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    milvus: Any = None  # a MilvusClient for the dense index (similar memories); None: recent vectors only
    _embedder: Embedder | None = None
    _recent: dict[str, OrderedDict[str, np.ndarray]] = field(default_factory=dict)
    # Activations decided but not read back from the log yet, per user (see
    # memory.lifecycle.on_embedding.after_embedding).
    pending: dict[str, set[str]] = field(default_factory=dict)

    @property
    def embedder(self) -> Embedder:
        # Loaded on first use, once: the worker joins its group before paying the model's load time.
        if self._embedder is None:
            self._embedder = self.embedder_factory()
        return self._embedder

    def remember_vector(self, scope: Scope, memory_id: str, vector: Sequence[float]) -> None:
        recent = self._recent.setdefault(scope.key, OrderedDict())
        recent[memory_id] = np.asarray(vector, dtype=np.float32)
        while len(recent) > RECENT_VECTORS:
            recent.popitem(last=False)

    def recent_neighbours(self, scope: Scope, memory_id: str, vector: Sequence[float]) -> dict[str, float]:
        """Cosine to the user's recently embedded memories (the nearest few): repeats the dense index may not
        hold yet."""
        recent = self._recent.get(scope.key)
        query = np.asarray(vector, dtype=np.float32)
        if not recent:
            return {}
        ids = [other for other in recent if other != memory_id and recent[other].shape == query.shape]
        if not ids:
            return {}
        matrix = np.stack([recent[other] for other in ids])
        norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(query)) or 1.0)
        scores = matrix @ query / np.where(norms == 0, 1.0, norms)
        best = np.argsort(-scores)[:NEIGHBOURS]
        return {ids[i]: float(scores[i]) for i in best}

    def index_neighbours(
        self, scope: Scope, queries: Sequence[tuple[str, Sequence[float]]]
    ) -> dict[str, dict[str, float]]:
        """Per new memory, the user's live memories nearest to its vector in the dense index: one
        Milvus search per user and batch. Reading the projection for a decision is safe because the
        decision is recorded as an event (a replay reads the event, never the index). Milvus unavailable:
        no neighbours (the recent vectors and exact-text check still run)."""
        if self.milvus is None or not queries:
            return {}
        expression = in_states(scope.app_id, scope.user_id, sorted(LIVE_STATES))
        try:
            result = self.milvus.search(
                self.settings.milvus_collection,
                data=[list(map(float, vector)) for _, vector in queries],
                filter=expression,
                limit=NEIGHBOURS + 1,
            )
        except Exception as exc:  # the index is an optimisation of this check, never a reason to stall
            log.warning("similar-memory lookup in Milvus failed: %s", exc)
            return {}
        return {
            memory_id: {hit["id"]: float(hit["distance"]) for hit in hits if hit["id"] != memory_id}
            for (memory_id, _), hits in zip(queries, result, strict=True)
        }


def build_context(settings: Settings) -> StreamContext:
    extractor: Extractor = extract_facts
    name = EXTRACTOR_NAME
    if settings.llm_base_url:
        from models.llm_extractor import LLMExtractor

        llm = LLMExtractor.from_settings(settings, fallback=extract_facts)
        extractor, name = llm.extract, f"llm:{settings.llm_model}"
    from pymilvus import MilvusClient

    return StreamContext(
        settings=settings,
        codec=Codec(),
        extractor=extractor,
        extractor_name=name,
        embedder_factory=lambda: build_embedder(settings),
        policy=policy_from(settings),
        milvus=MilvusClient(uri=settings.milvus_uri),
    )
