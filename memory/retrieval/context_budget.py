"""Prompt-ready context: ranked memories formatted into a ``<user_memories>`` block within a token budget.

Pure: the token counter and truncation are passed in (models.tokens supplies a real tokenizer). Memories
go in most relevant first; one that does not fit is skipped and the next ones are tried (a long memory
should not starve shorter, still relevant ones). When not even the most relevant memory fits, its
beginning is included, cut between words and marked with an ellipsis, rather than an empty block. The
finished block is counted once more as a whole, so the budget holds for the text actually returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

OPEN = "<user_memories>"
CLOSE = "</user_memories>"
ELLIPSIS = "…"
MIN_TOKENS = 16
MAX_TOKENS = 32_000


@dataclass(frozen=True)
class ContextItem:
    memory_id: str
    text: str
    occurred_at: datetime


@dataclass(frozen=True)
class ContextBlock:
    text: str
    tokens: int
    memory_ids: tuple[str, ...]
    omitted: int
    truncated: bool


def line_for(item: ContextItem) -> str:
    # The date lets the model answer "when" and order events; one line per memory keeps it scannable.
    return f"- [{item.occurred_at.date().isoformat()}] {' '.join(item.text.split())}"


def render(lines: Sequence[str]) -> str:
    return "\n".join([OPEN, *lines, CLOSE])


def build_context(
    items: Sequence[ContextItem],
    max_tokens: int,
    count: Callable[[str], int],
    truncate: Callable[[str, int], str],
) -> ContextBlock:
    if not MIN_TOKENS <= max_tokens <= MAX_TOKENS:
        raise ValueError(f"max_tokens must be between {MIN_TOKENS} and {MAX_TOKENS}, got {max_tokens}")
    used = count(render([]))
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
    # Tokenizers are not additive at the joins: recount the whole block and drop from the end until it fits.
    text = render(lines)
    tokens = count(text)
    while tokens > max_tokens and lines:
        lines.pop()
        ids.pop()
        text = render(lines)
        tokens = count(text)
    return ContextBlock(text, tokens, tuple(ids), len(items) - len(ids), truncated)
