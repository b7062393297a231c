"""Consolidation summaries written by an OpenAI-compatible chat model, with the offline summariser behind it.

Used by the lifecycle agent when ``MEMSTREAM_LLM_BASE_URL`` is set. The model gets the memories to merge
(oldest first, each with its date) and answers with plain text. An answer that is empty, cut off at the token
limit or longer than the budget, and any timeout or HTTP error, hands the group to the extractive summariser
(``memory.lifecycle.summarize``): a consolidation never stalls on the model. Timeouts are short and there are no
retries, because the agent waits for the answer inside its batch (and its consumer session lasts 10 s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from memory.lifecycle.summarize import DEFAULT_MAX_CHARS, SummaryItem, summarize

if TYPE_CHECKING:
    from memory.settings import Settings

log = logging.getLogger(__name__)
Fallback = Callable[[Sequence[SummaryItem], int], str]
SYSTEM_PROMPT = (
    "You merge a user's related memories into one memory. Keep every concrete fact (names, places, dates, "
    "numbers, preferences), drop repetition and small talk, write in the third person, present the facts in "
    "time order. Answer with the merged memory only, as plain text, at most {max_chars} characters."
)


class SummaryOutputError(ValueError):
    pass


class LLMSummarizer:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        fallback: Fallback = summarize,
        timeout_s: float = 5.0,
    ):
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
        self._model = model
        self._fallback = fallback
        self.fallback_count = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMSummarizer:
        return cls(settings.llm_base_url, settings.llm_api_key, settings.llm_model)

    @property
    def name(self) -> str:
        return f"llm:{self._model}"

    def summarize(self, items: Sequence[SummaryItem], max_chars: int = DEFAULT_MAX_CHARS) -> str:
        from openai import OpenAIError

        try:
            return self._complete(items, max_chars)
        except (OpenAIError, SummaryOutputError) as exc:
            self.fallback_count += 1
            log.warning("LLM summary unusable (%s); using the extractive summary", exc)
            return self._fallback(items, max_chars)

    def _complete(self, items: Sequence[SummaryItem], max_chars: int) -> str:
        ordered = sorted(items, key=lambda i: i.occurred_at)
        memories = "\n".join(f"- [{i.occurred_at.date().isoformat()}] {i.text}" for i in ordered)
        response = self._client.chat.completions.create(
            model=self._model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT.format(max_chars=max_chars)},
                {"role": "user", "content": memories},
            ],
            temperature=0.0,
        )
        if not response.choices:
            raise SummaryOutputError("response has no choices")
        choice = response.choices[0]
        if choice.finish_reason == "length":
            raise SummaryOutputError("answer was cut off at the token limit")
        content = getattr(getattr(choice, "message", None), "content", None)
        if not isinstance(content, str) or not content.strip():
            raise SummaryOutputError("answer is empty")
        text = " ".join(content.split())
        if len(text) > max_chars:
            raise SummaryOutputError(f"answer has {len(text)} characters, over the budget of {max_chars}")
        return text
