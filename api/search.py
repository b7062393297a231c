"""Hybrid search: the recipe's retrievers run concurrently, RRF fuses them, importance and recency rank.

Retrievers return ranked memory ids only; rows come from PostgreSQL afterwards, filtered by scope and
visibility a second time, so a retriever bug can never show one user another user's memory. Results are
served from and stored in the Redis hot cache (api.cache) unless the request opts out; every answer,
cached or not, records ``MemoryAccessed`` events without waiting for them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np

from api.access import AccessRecorder
from api.cache import SearchCache
from api.errors import InvalidRequest
from api.filters import Visibility
from api.reader import MemoryReader
from api.retrievers.base import Found, RetrieverImpl, SearchQuery
from api.retrievers.temporal import TemporalRetriever
from api.schemas import MAX_QUERY_CHARS, MAX_TOP_K, SearchHit, SearchRequest, SearchResponse, TimeRangeOut
from memory.events import Scope
from memory.fusion import reciprocal_rank_fusion
from memory.ranking import (
    Candidate,
    TurnRef,
    match_strengths,
    named_speaker,
    rank,
    with_conversation_support,
)
from memory.recipes import Retriever, SearchRecipe, UnknownRecipe, recipe_named
from memory.specificity import specificity
from memory.temporal import TimeRange, read_temporal_intent
from memory.validation import InvalidInput, check_text
from models.embedder import Embedder

# A query that names a time ("last week", "before the move") asks about that time: matches from outside it
# keep half their fused score, so they rank below the matches from inside unless they are far better.
OUT_OF_RANGE = 0.5
_RESPONSE_DECODER = msgspec.json.Decoder(SearchResponse)
# Retrievers whose scores measure the match (a cosine, a BM25 score); graph and temporal only order.
GRADED = frozenset({Retriever.DENSE.value, Retriever.SPARSE.value})


def as_utc(moment: datetime | None) -> datetime | None:
    """Naive datetimes from clients are read as UTC, so every comparison is between aware datetimes."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def validate(body: SearchRequest) -> SearchRecipe:
    try:  # a query too long is a 400 like any other bad query: nothing is stored
        check_text(body.query, "query", MAX_QUERY_CHARS)
    except InvalidInput as exc:
        raise InvalidRequest(str(exc)) from None
    if not 1 <= body.top_k <= MAX_TOP_K:
        raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}, got {body.top_k}")
    try:
        recipe = recipe_named(body.recipe)
    except UnknownRecipe as exc:
        raise InvalidRequest(str(exc)) from None
    visibility(body).validate()
    return recipe


def visibility(body: SearchRequest) -> Visibility:
    filters = body.filters
    if filters is not None:
        filters = msgspec.structs.replace(
            filters, occurred_after=as_utc(filters.occurred_after), occurred_before=as_utc(filters.occurred_before)
        )
    return Visibility(
        body.app_id,
        body.user_id,
        body.agent_id,
        body.run_id,
        filters,
        as_utc(body.as_of),
        as_utc(body.known_as_of),
        body.include_archived,
    )


def fingerprint(body: SearchRequest, reference: datetime) -> bytes:
    """What makes two requests the same search: everything but the token and the cache switch; a request
    without a reference time is bucketed by the hour, since recency and "yesterday" move with the clock."""
    same = msgspec.structs.replace(body, consistency_token=None, use_cache=True)
    bucket = "" if body.reference_time else reference.strftime("%Y-%m-%dT%H")
    return msgspec.json.encode(same) + bucket.encode()


@dataclasses.dataclass
class SearchEngine:
    """The stores one request reads (a target's pool, collection and graph), and the shared helpers."""

    retrievers: dict[Retriever, RetrieverImpl]
    temporal: TemporalRetriever
    reader: MemoryReader
    embedder: Embedder
    fanout: asyncio.Semaphore
    cache: SearchCache | None = None
    access: AccessRecorder | None = None

    async def search(self, body: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        recipe = validate(body)
        reference = as_utc(body.reference_time) or datetime.now(UTC)
        scope = Scope(body.app_id, body.user_id, body.agent_id, body.run_id)
        cache_key = epoch = None
        if self.cache is not None and body.use_cache:
            epoch = await self.cache.epoch(scope.key)
            if epoch is not None:
                cache_key = self.cache.key(scope.key, epoch, fingerprint(body, reference))
                cached = await self.cache.get(cache_key)
                if cached is not None:
                    response = _RESPONSE_DECODER.decode(cached)
                    response.cache_hit = True
                    response.took_ms = _elapsed(started)
                    self._record(scope, response)
                    return response
        response = await self.compute(body, recipe, reference)
        if self.cache is not None and cache_key is not None and epoch is not None:
            await self.cache.put(cache_key, msgspec.json.encode(response), scope.key, epoch)
        self._record(scope, response)
        response.took_ms = _elapsed(started)
        return response

    async def compute(self, body: SearchRequest, recipe: SearchRecipe, reference: datetime) -> SearchResponse:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        query = await self.prepare(body, recipe, reference)
        try:
            ranked = await self.retrieve(query, timings)
        finally:
            if query.embedding is not None and not query.embedding.done():
                query.embedding.cancel()  # no retriever wanted it after all (e.g. temporal without a range)
        timings["retrieval"] = _elapsed(started)
        visible, params = query.visibility.sql()
        wanted = list(dict.fromkeys(f.memory_id for found in ranked.values() for f in found))
        rows, positions = await asyncio.gather(
            self.reader.fetch_many(wanted, body.app_id, body.user_id, visible, params),
            # Positions only feed neighbour support: without it, none are read.
            self.reader.turn_positions(wanted if recipe.neighbour_share > 0 else [], body.app_id, body.user_id),
        )
        # Not yet (or no longer) visible in PostgreSQL: never show half-projected or forgotten memories.
        visible_found = {kind: [f for f in found if f.memory_id in rows] for kind, found in ranked.items()}
        orderings = {kind: [f.memory_id for f in found] for kind, found in visible_found.items()}
        strengths = {
            kind: match_strengths([(f.memory_id, f.score) for f in found], recipe.match_strength_exponent)
            for kind, found in visible_found.items()
            if kind in GRADED
        }
        present = reciprocal_rank_fusion(orderings, k=recipe.rrf_k, weights=recipe.weight_map(), strengths=strengths)
        span = query.time_range if Retriever.TEMPORAL in recipe.retrievers else None
        speakers = {str((row["metadata"] or {}).get("speaker", "")) for row in rows.values()} - {""}
        speaker = named_speaker(query.text, speakers)
        candidates = [
            Candidate(
                h.memory_id,
                h.score * self.prior(recipe, rows[h.memory_id], span, speakers, speaker),
                *_when(rows[h.memory_id]),
            )
            for h in present
        ]
        refs = {h.memory_id: turn_ref(rows[h.memory_id], positions) for h in present}
        candidates = with_conversation_support(
            candidates, refs, recipe.sibling_share, recipe.neighbour_share, recipe.neighbour_window
        )
        final = rank(
            candidates, reference, recipe.importance_share, recipe.recency_share, recipe.recency_half_life_days
        )
        by_id = {h.memory_id: h for h in present}
        hits = [
            _hit(r.memory_id, r.score, by_id[r.memory_id].score, by_id[r.memory_id].ranks, rows[r.memory_id])
            for r in final[: body.top_k]
        ]
        return SearchResponse(
            results=hits,
            took_ms=0.0,
            timings_ms=timings,
            recipe=recipe.name,
            time_range=TimeRangeOut(span.expression, span.start, span.end) if span else None,
        )

    @staticmethod
    def prior(
        recipe: SearchRecipe, row: dict[str, Any], span: TimeRange | None, speakers: set[str], speaker: str | None
    ) -> float:
        """What the memory itself says about its chances, before the list is ranked: outside the asked time
        range, how specific it is, whether the person the query names said it."""
        factor = 1.0 if span is None or span.contains(row["valid_from"]) else OUT_OF_RANGE
        factor *= specificity(row["text"], recipe.specificity_exponent, speakers)
        if speaker is not None and (row["metadata"] or {}).get("speaker") == speaker:
            factor *= recipe.speaker_boost
        return factor

    async def prepare(self, body: SearchRequest, recipe: SearchRecipe, reference: datetime) -> SearchQuery:
        needs_vector = Retriever.DENSE in recipe.retrievers or Retriever.TEMPORAL in recipe.retrievers
        embedding: asyncio.Future[np.ndarray] | None = None
        if needs_vector:
            embedding = asyncio.ensure_future(self._embed(body.query))
        query = SearchQuery(
            text=body.query,
            recipe=recipe,
            visibility=visibility(body),
            reference=reference,
            intent=read_temporal_intent(body.query, reference),
            embedding=embedding,
            scope_key=Scope(body.app_id, body.user_id).key,
        )
        if Retriever.TEMPORAL in recipe.retrievers and query.intent.range is None and query.intent.anchor:
            located = await self.temporal.locate_anchor(query)
            if located is not None:
                query = dataclasses.replace(query, intent=dataclasses.replace(query.intent, range=located))
        return query

    async def _embed(self, text: str) -> np.ndarray:
        vectors = await asyncio.to_thread(self.embedder.embed, [text])
        vector: np.ndarray = vectors[0]
        return vector

    async def retrieve(self, query: SearchQuery, timings: dict[str, float]) -> dict[str, list[Found]]:
        async def bounded(retriever: RetrieverImpl) -> list[Found]:
            async with self.fanout:
                started = time.perf_counter()
                found = await retriever.retrieve(query)
                timings[retriever.kind.value] = _elapsed(started)
                return found

        kinds = [r for r in query.recipe.retrievers if r in self.retrievers]
        results = await asyncio.gather(*(bounded(self.retrievers[k]) for k in kinds))
        return {kind.value: ids for kind, ids in zip(kinds, results, strict=True)}

    def _record(self, scope: Scope, response: SearchResponse) -> None:
        if self.access is not None and response.results:
            self.access.record(scope, [(h.id, sorted(h.retrievers)) for h in response.results])


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _when(row: dict[str, Any]) -> tuple[float, datetime]:
    return float(row["importance"]), row["valid_from"]


def turn_ref(row: dict[str, Any], positions: dict[tuple[str, str], int]) -> TurnRef:
    conversation = str((row["metadata"] or {}).get("conversation_id", ""))
    turns = tuple(row["source_turn_ids"] or ())
    return TurnRef(conversation, turns, positions.get((conversation, turns[0])) if len(turns) == 1 else None)


def _hit(memory_id: str, score: float, fused: float, ranks: dict[str, int], row: dict[str, Any]) -> SearchHit:
    return SearchHit(
        id=memory_id,
        memory=row["text"],
        score=round(score, 6),
        fused_score=round(fused, 6),
        retrievers=ranks,
        state=row["state"],
        importance=float(row["importance"]),
        metadata={str(k): str(v) for k, v in (row["metadata"] or {}).items()},
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        source_turn_ids=list(row["source_turn_ids"] or []),
    )
