"""Token counting and truncation for budgeted prompt context, fully offline.

Uses the WordPiece tokenizer shipped with the MiniLM embedder (bert-base-uncased vocabulary). It is
not the chat model's own tokenizer, so counts are an estimate of LLM tokens (usually within a few
tens of percent for English prose); it is a real tokenizer that needs no network, which a
chars-divided-by-four rule is not.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from models.assets import minilm_tokenizer_path


class TokenCounter:
    def __init__(self, tokenizer_path: Path | None = None) -> None:
        tokenizer = Tokenizer.from_file(str(tokenizer_path or minilm_tokenizer_path()))
        # The shipped tokenizer.json truncates at 128 and pads to 128; counting needs neither.
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    def count(self, text: str) -> int:
        """Tokens in ``text``, without [CLS]/[SEP]: they are not part of any prompt."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` with at most ``max_tokens`` tokens, cut between words if possible.

        The prefix is a slice of the original string (offsets map tokens back to characters), so
        case, accents and spacing survive even though the tokenizer lower-cases.
        """
        if max_tokens <= 0:
            return ""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= max_tokens:
            return text
        cut = max_tokens
        # Token `cut` is the first one dropped; if it continues a word ("##..."), back off to the
        # start of that word so the context does not end in a word fragment.
        while cut > 0 and encoding.tokens[cut].startswith("##"):
            cut -= 1
        if cut == 0:  # a single word longer than the budget: a fragment beats nothing
            cut = max_tokens
        end = encoding.offsets[cut - 1][1]
        return text[:end].rstrip()
