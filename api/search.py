"""Hybrid search, the I/O around the ordering: the recipe's retrievers run concurrently, the visible rows are
read, and ``memory.retrieval.scoring.final_order`` (pure) turns both into the final order.

Retrievers return ranked memory ids only; rows come from PostgreSQL afterwards, filtered by scope and
visibility a second time, so a retriever bug can never show one user another user's memory. A request is
validated once, where it comes in (``validate``, called by the controllers before any waiting); the engine
runs only a ``ValidSearch``. Results are served from and stored in the Redis hot cache (api.cache) unless
the request opts out; every answer, cached or not, records ``MemoryAccessed`` events without waiting for them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec
import numpy as np

from adapters.metrics import SEARCH_CACHE, SEARCH_RETRIEVER_SECONDS
from api.access import AccessRecorder, Hit
from api.cache import SearchCache
from api.errors import InvalidRequest
from api.filters import Visibility
from api.reader import MemoryReader, candidate_row, hit_metadata
from api.retrievers.base import RetrieverImpl, SearchQuery
from api.retrievers.temporal import TemporalRetriever
from api.schemas import (
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SummaryOriginal,
    TimeRangeOut,
    TimeScopeOut,
)
from api.summaries import archived_originals, live_summaries
from api.time_scope import session_times, window_members
from api.turn_positions import TurnPositions
from memory.contract.events import Scope
from memory.contract.validation import InvalidInput, check_text
from memory.conversations.sessions import DEFAULT_GAP
from memory.language.time_expressions import SessionRef, TimeRange, read_temporal_intent
from memory.lifecycle.machine import MemoryState
from memory.retrieval.recipes import Retriever, SearchRecipe, UnknownRecipe, recipe_named
from memory.retrieval.scoring import CandidateRow, Found, Scored, asked_range, final_order
from memory.retrieval.session_windows import session_window
from memory.retrieval.through_summaries import best_by_words, fold_into_summaries
from memory.retrieval.time_scope import (
    Scoping,
    Turn,
    carried_intent,
    informative_order,
    said_order,
    scoping,
    window_lean,
)
from models.embedder import Embedder

_RESPONSE_DECODER = msgspec.json.Decoder(SearchResponse)
SUMMARY = "summary"  # the kind of a consolidation's memory (memory.lifecycle.on_tick)


def as_utc(moment: datetime | None) -> datetime | None:
    """Naive datetimes from clients are read as UTC, so every comparison is between aware datetimes."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def asker_time(given: datetime | None, reference: datetime) -> datetime:
    """The time a query's words are read against: the request's reference time in its own time zone when it
    has one ("this morning", "yesterday" are the asker's), else the UTC reference."""
    return given if given is not None and given.tzinfo is not None else reference


@dataclasses.dataclass(frozen=True)
class ValidSearch:
    """A request that passed ``validate``, with the recipe it names and the scope its caller was authorized for
    (``api.gateway.tenancy``): the only thing the engine runs, so a search is validated exactly once, where the
    request comes in (before any waiting). ``body`` carries the scope's app and user too."""

    body: SearchRequest
    recipe: SearchRecipe
    scope: Scope


def validate(body: SearchRequest, scope: Scope) -> ValidSearch:
    """``scope``: what ``api.gateway.tenancy.authorize`` allowed; the body's own ids are replaced by it."""
    try:  # a query too long is a 400 like any other bad query: nothing is stored
        check_text(body.query, "query", MAX_QUERY_CHARS)
        for index, message in enumerate(body.messages or ()):
            check_text(message.content, f"messages[{index}].content", MAX_QUERY_CHARS)
    except InvalidInput as exc:
        raise InvalidRequest(str(exc)) from None
    if not 1 <= body.top_k <= MAX_TOP_K:
        raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}, got {body.top_k}")
    try:
        recipe = recipe_named(body.recipe)
    except UnknownRecipe as exc:
        raise InvalidRequest(str(exc)) from None
    body = msgspec.structs.replace(body, app_id=scope.app_id, user_id=scope.user_id)
    visibility(body, scope).validate()
    return ValidSearch(body, recipe, scope)


def visibility(body: SearchRequest, scope: Scope) -> Visibility:
    filters = body.filters
    if filters is not None:
        filters = msgspec.structs.replace(
            filters, occurred_after=as_utc(filters.occurred_after), occurred_before=as_utc(filters.occurred_before)
        )
    return Visibility(
        scope.app_id,
        scope.user_id,
        scope.agent_id,
        scope.run_id,
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
    # A question's own session goes on while its latest turn is no older than this ("our last session" is the
    # one before it): Settings.session_gap_minutes, as the projector infers sessions.
    session_gap: timedelta = DEFAULT_GAP
    # The user's turn positions per cache epoch (neighbour support); None: read from PostgreSQL on every search.
    positions: TurnPositions | None = None

    async def search(self, request: ValidSearch) -> SearchResponse:
        started = time.perf_counter()
        body, recipe, scope = request.body, request.recipe, request.scope
        reference = as_utc(body.reference_time) or datetime.now(UTC)
        cache_key = epoch = None
        if self.cache is not None and body.use_cache:
            epoch = await self.cache.epoch(scope.key)
            if epoch is not None:
                cache_key = self.cache.key(scope.key, epoch, fingerprint(body, reference))
                cached = await self.cache.get(cache_key)
                SEARCH_CACHE.labels("miss" if cached is None else "hit").inc()
                if cached is not None:
                    response = _RESPONSE_DECODER.decode(cached)
                    response.cache_hit = True
                    response.took_ms = _elapsed(started)
                    self._record(scope, response)
                    return response
        response = await self.compute(body, scope, recipe, reference, epoch)
        if self.cache is not None and cache_key is not None and epoch is not None:
            await self.cache.put(cache_key, msgspec.json.encode(response), scope.key, epoch)
        self._record(scope, response)
        response.took_ms = _elapsed(started)
        return response

    async def compute(
        self, body: SearchRequest, scope: Scope, recipe: SearchRecipe, reference: datetime, epoch: str | None = None
    ) -> SearchResponse:
        """``epoch``: the scope's cache epoch when ``search`` read it (the turn positions are cached under it)."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        query, source = await self.prepare(body, scope, recipe, reference)
        shown = visibility(body, scope)  # what the caller may see; the retrievers may also read the archive
        span = asked_range(recipe, query.time_range)
        scoped = scoping(body.query, span) if recipe.time_scoping else Scoping.NONE
        # Positions only feed neighbour support (not used for a time alone); they need no candidate, so they are
        # read while the retrievers run.
        needs_positions = recipe.neighbour_share > 0 and scoped is not Scoping.TIME
        positions = asyncio.ensure_future(self.turn_positions(scope, epoch) if needs_positions else _no_positions())
        try:
            try:
                if scoped is Scoping.TIME and span is not None:
                    # A question about a time alone: the window is the answer, every memory of it a candidate.
                    ranked = {Retriever.TEMPORAL.value: await self.window(query, span)}
                else:
                    ranked = await self.retrieve(query, timings)
            finally:
                if query.embedding is not None and not query.embedding.done():
                    query.embedding.cancel()  # no retriever wanted it after all (e.g. temporal without a range)
            timings["retrieval"] = _elapsed(started)
            started = time.perf_counter()
            visible, params = query.visibility.sql()
            wanted = list(dict.fromkeys(f.memory_id for found in ranked.values() for f in found))
            rows = await self.reader.search_rows(wanted, scope.app_id, scope.user_id, visible, params)
            summaries: dict[str, dict[str, Any]] | None = None
            if shown.reads_through_summaries:
                # Archived originals answer through their live summary; one without is not shown at all, nor is
                # an archived summary (a digest consolidated again: its own originals answer for it).
                archived = [m for m, row in rows.items() if _archived_original(row)]
                summaries = await live_summaries(self.reader.pool, archived, shown)
                rows = {m: r for m, r in rows.items() if r["state"] != MemoryState.ARCHIVED.value or m in summaries}
            timings["rows"] = _elapsed(started)
            started = time.perf_counter()
            turn_positions = await positions  # read during retrieval: a wait here is time it took beyond
            timings["positions"] = _elapsed(started)
        finally:
            positions.cancel()  # a no-op once done; else a failed search leaves no read behind
        started = time.perf_counter()
        # Rows not (yet, or no longer) visible in PostgreSQL drop out in the ordering: never half-projected or
        # forgotten memories.
        candidates = {memory_id: candidate_row(row) for memory_id, row in rows.items()}
        if scoped is Scoping.TIME:
            # Each hit says it came from the window (the temporal rank: its place in said order).
            temporal = Retriever.TEMPORAL.value
            listed = ranked[temporal]
            window = {f.memory_id: Scored(f.memory_id, 0.0, 0.0, {temporal: i + 1}) for i, f in enumerate(listed)}
            order = informative_order(candidates.values(), window)
        else:
            order = final_order(ranked, candidates, recipe, query.text, reference, span, turn_positions)
            if scoped is Scoping.TIME_AND_TOPIC and span is not None:
                order = window_lean(order, candidates, span, recipe.window_boost)
        timings["ranking"] = _elapsed(started)
        started = time.perf_counter()
        hits = await self.through_summaries(body.top_k, body.query, scope, order, rows, summaries)
        if summaries or any(h.originals for h in hits):
            timings["summaries"] = _elapsed(started)
        for summary in (summaries or {}).values():
            candidates.setdefault(summary["memory_id"], candidate_row(summary))
        return SearchResponse(
            results=hits,
            took_ms=0.0,
            timings_ms=timings,
            recipe=recipe.name,
            time_range=TimeRangeOut(span.expression, span.start, span.end) if span else None,
            time_scope=_time_scope(scoped, span, source, [h.id for h in hits], candidates),
        )

    async def prepare(
        self, body: SearchRequest, scope: Scope, recipe: SearchRecipe, reference: datetime
    ) -> tuple[SearchQuery, str]:
        """The request read once, and where its time came from ("query", or "messages" when carried)."""
        needs_vector = Retriever.DENSE in recipe.retrievers or Retriever.TEMPORAL in recipe.retrievers
        embedding: asyncio.Future[np.ndarray] | None = None
        if needs_vector:
            embedding = asyncio.ensure_future(self._embed(body.query))
        asker = asker_time(body.reference_time, reference)
        intent = read_temporal_intent(body.query, asker)
        source = "query"
        turns = [Turn(m.role, m.content) for m in body.messages or ()]
        carried = carried_intent(body.query, intent, turns, asker) if turns else None
        if carried is not None:
            intent, source = carried, "messages"
        shown = visibility(body, scope)
        query = SearchQuery(
            text=body.query,
            recipe=recipe,
            visibility=shown.through_archive() if shown.reads_through_summaries else shown,
            reference=reference,
            intent=intent,
            embedding=embedding,
            scope_key=scope.key,
        )
        reads_time = Retriever.TEMPORAL in recipe.retrievers
        if reads_time and query.intent.range is None and query.intent.session is not None:
            resolved = await self.sessions_window(scope, query.intent.session, reference)
            query = dataclasses.replace(query, intent=dataclasses.replace(query.intent, range=resolved))
        if reads_time and query.intent.range is None and query.intent.anchor:
            anchored = await self.temporal.locate_anchor(query)
            if anchored is not None:
                query = dataclasses.replace(query, intent=dataclasses.replace(query.intent, range=anchored))
        return query, source

    async def turn_positions(self, scope: Scope, epoch: str | None) -> dict[tuple[str, str], int]:
        if self.positions is None:
            return await self.reader.all_turn_positions(scope.app_id, scope.user_id)
        return await self.positions.of_user(scope.app_id, scope.user_id, scope.key, epoch)

    async def through_summaries(
        self,
        top_k: int,
        query: str,
        scope: Scope,
        order: list[Scored],
        rows: dict[str, dict[str, Any]],
        summaries: dict[str, dict[str, Any]] | None,
    ) -> list[SearchHit]:
        """The first ``top_k`` of ``order`` as hits. Reading through summaries (``summaries`` not None: original id
        -> its live summary's row), each archived original is folded into its summary's hit, and a summary that
        ranked on its own words is given its best original by words (a second read, only then)."""
        if summaries is None:
            return [_hit(scored, rows[scored.memory_id], []) for scored in order[:top_k]]
        folded = fold_into_summaries(order, {o: s["memory_id"] for o, s in summaries.items()}, top_k)
        rows.update((s["memory_id"], s) for s in summaries.values())
        alone = [h.scored.memory_id for h in folded if not h.originals and rows[h.scored.memory_id]["kind"] == SUMMARY]
        by_summary = await archived_originals(self.reader.pool, alone, scope.app_id, scope.user_id)
        hits = []
        for hit in folded:
            listed = [_original(rows[memory_id], rank) for memory_id, rank in hit.originals]
            own = by_summary.get(hit.scored.memory_id, [])
            best = best_by_words(query, [(o["memory_id"], o["text"]) for o in own])
            listed.extend(_original(o, None) for o in own if o["memory_id"] == best)
            hits.append(_hit(hit.scored, rows[hit.scored.memory_id], listed))
        return hits

    async def sessions_window(self, scope: Scope, ref: SessionRef, reference: datetime) -> TimeRange:
        """The time the named sessions span, resolved against this user's stored sessions."""
        known = await session_times(self.reader.pool, scope.app_id, scope.user_id, reference)
        return session_window(ref, known, reference, self.session_gap)

    async def window(self, query: SearchQuery, span: TimeRange) -> list[Found]:
        """Every visible memory inside the window, said order (the score only keeps that order)."""
        members = await window_members(self.reader.pool, query.visibility, span)
        return [Found(memory_id, float(len(members) - i)) for i, memory_id in enumerate(members)]

    async def _embed(self, text: str) -> np.ndarray:
        vectors = await asyncio.to_thread(self.embedder.embed, [text])
        vector: np.ndarray = vectors[0]
        return vector

    async def retrieve(self, query: SearchQuery, timings: dict[str, float]) -> dict[str, list[Found]]:
        async def bounded(retriever: RetrieverImpl) -> list[Found]:
            async with self.fanout:
                started = time.perf_counter()
                found = await retriever.retrieve(query)
                SEARCH_RETRIEVER_SECONDS.labels(retriever.kind.value).observe(time.perf_counter() - started)
                timings[retriever.kind.value] = _elapsed(started)
                return found

        kinds = [r for r in query.recipe.retrievers if r in self.retrievers]
        results = await asyncio.gather(*(bounded(self.retrievers[k]) for k in kinds))
        return {kind.value: ids for kind, ids in zip(kinds, results, strict=True)}

    def _record(self, scope: Scope, response: SearchResponse) -> None:
        if self.access is not None and response.results:
            self.access.record(scope, [Hit(h.id, sorted(h.retrievers), h.state) for h in response.results])


async def _no_positions() -> dict[tuple[str, str], int]:
    return {}


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _time_scope(
    scoped: Scoping, span: TimeRange | None, source: str, hits: list[str], rows: dict[str, CandidateRow]
) -> TimeScopeOut | None:
    if scoped is Scoping.NONE or span is None:
        return None
    inside = said_order([m for m in hits if span.contains(rows[m].valid_from)], rows)
    kind: Literal["time", "time_and_topic"] = "time" if scoped is Scoping.TIME else "time_and_topic"
    origin: Literal["query", "messages"] = "messages" if source == "messages" else "query"
    return TimeScopeOut(kind, span.expression, span.start, span.end, origin, inside)


def _archived_original(row: dict[str, Any]) -> bool:
    return bool(row["state"] == MemoryState.ARCHIVED.value and row["kind"] != SUMMARY)


def _original(row: dict[str, Any], rank: int | None) -> SummaryOriginal:
    return SummaryOriginal(
        id=row["memory_id"],
        memory=row["text"],
        valid_from=row["valid_from"],
        metadata=hit_metadata(row),
        source_turn_ids=list(row["source_turn_ids"] or []),
        rank=rank,
    )


def _hit(scored: Scored, row: dict[str, Any], originals: list[SummaryOriginal]) -> SearchHit:
    return SearchHit(
        id=scored.memory_id,
        memory=row["text"],
        score=round(scored.score, 6),
        fused_score=round(scored.fused_score, 6),
        retrievers=scored.ranks,
        state=row["state"],
        importance=float(row["importance"]),
        metadata=hit_metadata(row),
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        source_turn_ids=list(row["source_turn_ids"] or []),
        originals=originals,
    )
