"""Prompt-ready context: ranked memories formatted into a ``<user_memories>`` block within a token budget.

Pure: the token counter and truncation are passed in (models.tokens supplies a real tokenizer). Memories
go in most relevant first; one that does not fit is skipped and the next ones are tried (a long memory
should not starve shorter, still relevant ones). When not even the most relevant memory fits, its
beginning is included, cut between words and marked with an ellipsis, rather than an empty block. The
finished block is counted once more as a whole, so the budget holds for the text actually returned.

Core memory blocks (``memory.blocks``), when asked for, come first as a ``<core_memory>`` section inside the
same budget: they are the agent's standing knowledge of the user and of itself, so they take precedence over
retrieved memories. Empty blocks are left out; a block that does not fit whole is left out (a cut persona
would misstate it), and the next ones are tried.

For a question about a time alone ("summarize our last session", ``memory.retrieval.time_scope``) the memories
are still chosen most informative first, but presented in the order they were said (``said_order``): a session
recalled in order reads as it happened, and a budget too small for all of it keeps its most informative parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

OPEN = "<user_memories>"
CLOSE = "</user_memories>"
CORE_OPEN = "<core_memory>"
CORE_CLOSE = "</core_memory>"
ELLIPSIS = "…"
MIN_TOKENS = 16
MAX_TOKENS = 32_000


@dataclass(frozen=True)
class ContextItem:
    memory_id: str
    text: str
    occurred_at: datetime


@dataclass(frozen=True)
class CoreBlockItem:
    label: str
    value: str


@dataclass(frozen=True)
class ContextBlock:
    text: str
    tokens: int
    memory_ids: tuple[str, ...]
    omitted: int
    truncated: bool
    block_labels: tuple[str, ...] = ()


def line_for(item: ContextItem) -> str:
    # The date lets the model answer "when" and order events; one line per memory keeps it scannable.
    return f"- [{item.occurred_at.date().isoformat()}] {' '.join(item.text.split())}"


def render(lines: Sequence[str]) -> str:
    return "\n".join([OPEN, *lines, CLOSE])


def render_core(blocks: Sequence[CoreBlockItem]) -> str:
    """Each block in a tag named by its label (labels are ``[a-z][a-z0-9_]*``, valid tag names)."""
    if not blocks:
        return ""
    body = [part for b in blocks for part in (f"<{b.label}>", b.value, f"</{b.label}>")]
    return "\n".join([CORE_OPEN, *body, CORE_CLOSE])


def _joined(core: str, memories: str) -> str:
    return f"{core}\n{memories}" if core else memories


def _fitting_blocks(
    blocks: Sequence[CoreBlockItem], max_tokens: int, count: Callable[[str], int]
) -> list[CoreBlockItem]:
    chosen: list[CoreBlockItem] = []
    for block in blocks:
        if block.value and count(_joined(render_core([*chosen, block]), render([]))) <= max_tokens:
            chosen.append(block)
    return chosen


def _in_said_order(lines: list[str], ids: list[str], said_order: Sequence[str]) -> tuple[list[str], list[str]]:
    """The chosen lines reordered as said; ids the order does not know keep their place after the known ones."""
    place = {memory_id: index for index, memory_id in enumerate(said_order)}
    paired = sorted(zip(ids, lines, strict=True), key=lambda pair: place.get(pair[0], len(place)))
    return [line for _, line in paired], [memory_id for memory_id, _ in paired]


def build_context(
    items: Sequence[ContextItem],
    max_tokens: int,
    count: Callable[[str], int],
    truncate: Callable[[str, int], str],
    blocks: Sequence[CoreBlockItem] = (),
    said_order: Sequence[str] | None = None,
) -> ContextBlock:
    """``items`` most relevant first; ``said_order``: memory ids in the order they were said, to present the
    chosen ones in (None: as ranked)."""
    if not MIN_TOKENS <= max_tokens <= MAX_TOKENS:
        raise ValueError(f"max_tokens must be between {MIN_TOKENS} and {MAX_TOKENS}, got {max_tokens}")
    core_blocks = _fitting_blocks(blocks, max_tokens, count)
    core = render_core(core_blocks)
    used = count(_joined(core, render([])))
    lines: list[str] = []
    ids: list[str] = []
    truncated = False
    for item in items:
        line = line_for(item)
        cost = count(line)
        if used + cost <= max_tokens:
            lines.append(line)
            ids.append(item.memory_id)
            used += cost
        elif not lines and max_tokens - used > count(ELLIPSIS) + 4:
            lines.append(truncate(line, max_tokens - used - count(ELLIPSIS)) + ELLIPSIS)
            ids.append(item.memory_id)
            used += count(lines[-1])
            truncated = True
    # Tokenizers are not additive at the joins: recount the whole block and drop from the end until it fits
    # (memories first, then blocks: the blocks were chosen to fit with no memory at all).
    text = _joined(core, render(lines))
    tokens = count(text)
    while tokens > max_tokens and (lines or core_blocks):
        if lines:
            lines.pop()
            ids.pop()
        else:
            core_blocks.pop()
            core = render_core(core_blocks)
        text = _joined(core, render(lines))
        tokens = count(text)
    if said_order is not None:
        lines, ids = _in_said_order(lines, ids, said_order)
        text = _joined(core, render(lines))
        tokens = count(text)  # the same lines: only a tokenizer merging across line breaks could change this
    labels = tuple(b.label for b in core_blocks)
    return ContextBlock(text, tokens, tuple(ids), len(items) - len(ids), truncated, labels)
