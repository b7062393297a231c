"""``POST /v1/context``: search, then format the ranked memories into the token budget (a question about a time
alone: in the order they were said, ``memory.retrieval.context_budget``)."""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import InvalidRequest
from api.schemas import ContextRequest, ContextResponse, SearchHit, SearchRequest, SearchResponse
from memory.retrieval.context_budget import MAX_TOKENS, MIN_TOKENS, ContextItem, CoreBlockItem, build_context
from models.tokens import TokenCounter

# Enough candidates to fill generous budgets; the search's own top_k ceiling.
CONTEXT_CANDIDATES = 100
TOKENIZER = "bert-base-uncased WordPiece (all-MiniLM-L6-v2)"


def context_items(hit: SearchHit) -> list[ContextItem]:
    """What a hit puts in the context: a summary's hit, the originals that ranked in its stead (their own words,
    which the question matched, not the summary's digest of them); any other hit, itself."""
    ranked = [o for o in hit.originals if o.rank is not None]
    if ranked:
        return [ContextItem(o.id, o.memory, o.valid_from) for o in ranked]
    return [ContextItem(hit.id, hit.memory, hit.valid_from)]


class ContextBuilder:
    def __init__(self, counter: TokenCounter):
        self._counter = counter

    @staticmethod
    def validate(body: ContextRequest) -> None:
        if not MIN_TOKENS <= body.max_tokens <= MAX_TOKENS:
            raise InvalidRequest(f"max_tokens must be between {MIN_TOKENS} and {MAX_TOKENS}, got {body.max_tokens}")

    @staticmethod
    def search_request(body: ContextRequest) -> SearchRequest:
        return SearchRequest(
            query=body.query,
            user_id=body.user_id,
            app_id=body.app_id,
            agent_id=body.agent_id,
            run_id=body.run_id,
            top_k=CONTEXT_CANDIDATES,
            recipe=body.recipe,
            filters=body.filters,
            reference_time=body.reference_time,
            as_of=body.as_of,
            known_as_of=body.known_as_of,
            messages=body.messages,
        )

    def build(
        self, body: ContextRequest, found: SearchResponse, blocks: Sequence[CoreBlockItem] = ()
    ) -> ContextResponse:
        items = [item for hit in found.results for item in context_items(hit)]
        scoped = found.time_scope
        # A question about a time alone: its memories as they were said (chosen most informative first).
        said = scoped.said_order if scoped is not None and scoped.kind == "time" else None
        if said is not None:
            # A summary's originals take its place in said order, in the order they were said.
            within = {h.id: sorted(context_items(h), key=lambda i: i.occurred_at) for h in found.results}
            said = [item.memory_id for hit_id in said for item in within.get(hit_id, ())]
        block = build_context(items, body.max_tokens, self._counter.count, self._counter.truncate, blocks, said)
        return ContextResponse(
            context=block.text,
            token_count=block.tokens,
            max_tokens=body.max_tokens,
            memory_ids=list(block.memory_ids),
            omitted=block.omitted,
            tokenizer=TOKENIZER,
            block_labels=list(block.block_labels),
        )
