"""``MemstreamStore``: LangGraph's ``BaseStore`` on memstream, so a graph's long-term memory (``store.put`` in a
node, ``store.search`` before answering) is a user's memories.

**Namespaces.** The label at ``user_at`` (default 0: ``(user_id, "memories", ...)``) is the memstream user; the
app is the store's ``app_id`` (default: the credential's) and ``agent_id`` narrows every item to one agent. A
credential bound to one user may only use namespaces naming that user (``PermissionDenied`` otherwise), and an
app-wide one reaches any user of its app: isolation between users is the API's, not the namespace's.
``list_namespaces`` and ``search`` need a prefix that names the user: memstream lists no users.

**Items** are verbatim memories (``items.py`` has the layout): ``put`` of a new key adds one (``infer=False``),
``put`` of an existing key corrects its text (``PUT /v1/memories/{id}``), ``put(..., None)`` and ``delete``
forget it (``DELETE``); ``get`` finds it by its metadata (``GET /v1/memories?metadata=...``). ``search`` with
a query is memstream's hybrid search within the prefix (``score`` is the hit's score; at most the best 100
hits are considered); without one it lists the prefix's items, newest first. ``filter`` is applied to the
values here, after the API narrowed by namespace.

**Consistency.** Writes are applied asynchronously by the pipeline; every read of the store (and every lookup
a ``put`` or ``delete`` makes first) passes the SDK's read-your-writes, so this store reads its own writes.
Another store object (another process) sees them once applied, usually well under a second.

**Not supported**: ``ttl`` (memstream's lifecycle decides how long a memory lives: an item fades like any
memory unless it is read, and is no longer found once forgotten), ``index=`` per item (the whole value is
always indexed), and exact key/value durability: an item whose value states a single-valued fact in the first
person ("I live in Rome") can supersede an older item stating another value, which then no longer reads
(memstream's contradiction rule). ``SearchItem.created_at`` and ``updated_at`` of a query search are the
memory's valid time (a hit carries no other); the other reads give the memory's created and updated times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)

from memstream_client.async_client import AsyncMemstream
from memstream_client.client import Memstream
from memstream_client.integrations.langgraph import items
from memstream_client.models import Memory, MemoryPage, SearchResults

# Turns a memory tool writes are not conversation (the conversation log's search and turns leave them out):
# the API's marker, with the store's name as its value.
NOT_CONVERSATION = {"memstream_tool": "langgraph_store"}
PAGE = 500  # the API's largest page of memories
MAX_HITS = 100  # the API's largest top_k


@dataclass(frozen=True)
class Request:
    """One SDK call (a method of ``Memstream``/``AsyncMemstream`` with its arguments), for a driver to make."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


# An operation is written once as a generator of SDK calls; ``batch`` makes them with the sync client, ``abatch``
# with the async one.
Steps = Generator[Request, Any, Any]


class MemstreamStore(BaseStore):
    """A LangGraph store whose items are memories of the user each namespace names (see the module's notes)."""

    def __init__(
        self,
        client: Memstream | None = None,
        *,
        async_client: AsyncMemstream | None = None,
        user_at: int = 0,
        app_id: str | None = None,
        agent_id: str | None = None,
    ):
        if user_at < 0:
            raise ValueError("user_at is a position in the namespace: 0 or more")
        self.client = client if client is not None or async_client is not None else Memstream()
        self.async_client = async_client
        self.user_at = user_at
        self.app_id = app_id
        self.agent_id = agent_id

    # --- BaseStore ---------------------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        if self.client is None:
            raise RuntimeError("this store was given only an async_client: use the async methods (aget, aput...)")
        return [self._drive(self.client, self._operation(op)) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        if self.async_client is None:
            return await asyncio.to_thread(self.batch, list(ops))  # the sync client, off the event loop
        return [await self._adrive(self.async_client, self._operation(op)) for op in ops]

    # --- drivers -----------------------------------------------------------------------------------------------

    @staticmethod
    def _drive(client: Memstream, steps: Steps) -> Any:
        answer: Any = None
        try:
            while True:
                request = steps.send(answer)
                answer = getattr(client, request.method)(*request.args, **request.kwargs)
        except StopIteration as done:
            return done.value

    @staticmethod
    async def _adrive(client: AsyncMemstream, steps: Steps) -> Any:
        answer: Any = None
        try:
            while True:
                request = steps.send(answer)
                answer = await getattr(client, request.method)(*request.args, **request.kwargs)
        except StopIteration as done:
            return done.value

    # --- operations --------------------------------------------------------------------------------------------

    def _operation(self, op: Op) -> Steps:
        validate_op_namespace(op)
        if isinstance(op, GetOp):
            return self._get(op)
        if isinstance(op, PutOp):
            return self._put(op)
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(op)
        raise TypeError(f"unknown store operation: {type(op).__name__}")

    def _scope(self, namespace: tuple[str, ...], what: str) -> dict[str, Any]:
        if len(namespace) <= self.user_at or namespace[self.user_at] == "*":
            raise InvalidNamespaceError(
                f"{what} {namespace} names no user: memstream keeps each user's memories apart, and this store reads"
                f" the user from label {self.user_at} of a namespace"
            )
        return {"user_id": namespace[self.user_at], "app_id": self.app_id}

    def _lookup(self, namespace: tuple[str, ...], key: str) -> Steps:
        """The memories holding (namespace, key), newest first: one, unless two puts of a new key raced."""
        items.check_namespace(namespace, key)
        page: MemoryPage = yield Request(
            "get_all",
            kwargs={
                **self._scope(namespace, "namespace"),
                "agent_id": self.agent_id,
                "states": items.ITEM_STATES,
                "metadata": items.identity_metadata(namespace, key),
                "limit": 10,
                "read_your_writes": True,
            },
        )
        return sorted(page.results, key=lambda m: (m.updated_at, m.id), reverse=True)

    def _get(self, op: GetOp) -> Steps:
        found: list[Memory] = yield from self._lookup(op.namespace, op.key)
        return item_of(found[0]) if found else None

    def _put(self, op: PutOp) -> Steps:
        if op.ttl is not None:
            raise NotImplementedError("memstream's lifecycle decides how long a memory lives: ttl is not supported")
        found: list[Memory] = yield from self._lookup(op.namespace, op.key)
        scope = self._scope(op.namespace, "namespace")
        stale = found if op.value is None else found[1:]
        if op.value is not None:
            text = items.item_text(op.namespace, op.key, op.value)
            if found:
                yield Request("update", (found[0].id, text), scope)
            else:
                metadata = {**items.item_metadata(op.namespace, op.key), **NOT_CONVERSATION}
                yield Request(
                    "add", (text,), {**scope, "agent_id": self.agent_id, "metadata": metadata, "infer": False}
                )
        for memory in stale:
            yield Request("delete", (memory.id,), scope)
        return None

    def _search(self, op: SearchOp) -> Steps:
        items.check_namespace(op.namespace_prefix)
        items.check_filter(op.filter)
        scope = {**self._scope(op.namespace_prefix, "namespace prefix"), "agent_id": self.agent_id}
        wanted = items.prefix_metadata(op.namespace_prefix)
        if op.query:
            hits: SearchResults = yield Request(
                "search",
                (op.query,),
                {
                    **scope,
                    "limit": MAX_HITS if op.filter else min(MAX_HITS, op.offset + op.limit),
                    "filters": {"metadata": wanted},
                    "read_your_writes": True,
                },
            )
            found = []
            for hit in hits:
                identity = items.identity_of(hit.metadata)
                if identity is None:
                    continue
                value = items.value_of(hit.memory)
                if items.matches(value, op.filter):
                    found.append(SearchItem(identity[0], identity[1], value, hit.valid_from, hit.valid_from, hit.score))
            return found[op.offset : op.offset + op.limit]
        listed: list[SearchItem] = []
        skipped = 0
        offset = 0 if op.filter else op.offset  # without a filter the API skips for us
        while len(listed) < op.limit:
            page: MemoryPage = yield Request(
                "get_all",
                kwargs={
                    **scope,
                    "states": items.ITEM_STATES,
                    "metadata": wanted,
                    "limit": PAGE if op.filter else op.limit,
                    "offset": offset,
                    "read_your_writes": True,
                },
            )
            for memory in page.results:
                item = item_of(memory)
                if item is None or not items.matches(item.value, op.filter):
                    continue
                if op.filter and skipped < op.offset:
                    skipped += 1
                    continue
                listed.append(search_item(item))
            offset += len(page.results)
            if not page.results or offset >= page.total:
                break
        return listed[: op.limit]

    def _list_namespaces(self, op: ListNamespacesOp) -> Steps:
        conditions = op.match_conditions or ()
        prefixes = [c.path for c in conditions if c.match_type == "prefix"]
        longest = max(prefixes, key=len, default=())
        scope = {**self._scope(tuple(longest), "list_namespaces' prefix"), "agent_id": self.agent_id}
        leading = list(longest)[: list(longest).index("*")] if "*" in longest else list(longest)
        wanted = items.prefix_metadata(leading)  # the rest of the conditions are checked here
        namespaces: set[tuple[str, ...]] = set()
        offset = 0
        while True:
            page: MemoryPage = yield Request(
                "get_all",
                kwargs={
                    **scope,
                    "states": items.ITEM_STATES,
                    "metadata": wanted,
                    "limit": PAGE,
                    "offset": offset,
                    "read_your_writes": True,
                },
            )
            for memory in page.results:
                identity = items.identity_of(memory.metadata)
                if identity is None:
                    continue
                namespace = identity[0]
                if all(items.fits(namespace, c.path, c.match_type == "suffix") for c in conditions):
                    namespaces.add(namespace[: op.max_depth] if op.max_depth is not None else namespace)
            offset += len(page.results)
            if not page.results or offset >= page.total:
                break
        return sorted(namespaces)[op.offset : op.offset + op.limit]


def item_of(memory: Memory) -> Item | None:
    identity = items.identity_of(memory.metadata)
    if identity is None:
        return None
    return Item(
        value=items.value_of(memory.memory),
        key=identity[1],
        namespace=identity[0],
        created_at=memory.created_at,
        updated_at=memory.updated_at,
    )


def search_item(item: Item) -> SearchItem:
    return SearchItem(item.namespace, item.key, item.value, item.created_at, item.updated_at)
