"""Fact extraction by an OpenAI-compatible chat model, with a fallback so no turn is ever lost.

The model is asked for a JSON object (``response_format={"type": "json_object"}``, which compatible
servers support more widely than ``json_schema``), and the schema is spelt out in the system prompt.
Its answer is then validated strictly: anything off-schema is rejected as a whole, because a model
that broke the format once has probably also garbled the content. (Unknown extra keys are ignored:
they carry nothing we would store.) Malformed output, timeouts and
HTTP errors all hand the turn to the fallback extractor (the offline rules) and log why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from memory.ingest.extraction_types import ExtractedEntity, ExtractedFact, ExtractedRelation, TurnInput
from models.tokens import TokenCounter

if TYPE_CHECKING:
    from openai import OpenAI

    from memory.settings import Settings

log = logging.getLogger(__name__)

FallbackExtractor = Callable[[TurnInput], list[ExtractedFact]]

FACT_KINDS = frozenset({"fact", "preference", "event", "plan"})
ENTITY_KINDS = frozenset({"person", "place", "organisation", "date", "thing"})
# Models trained mostly on US English write "organization"; that is a spelling, not a schema error.
_ENTITY_KIND_ALIASES = {"organization": "organisation"}

MAX_ENTITIES_PER_FACT = 20
MAX_RELATIONS_PER_FACT = 20
MAX_NAME_CHARS = 200

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["facts"],
    "properties": {
        "facts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["text", "kind", "entities", "relations"],
                "properties": {
                    "text": {"type": "string", "minLength": 1},
                    "kind": {"enum": sorted(FACT_KINDS)},
                    "entities": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "kind"],
                            "properties": {
                                "name": {"type": "string", "minLength": 1},
                                "kind": {"enum": sorted(ENTITY_KINDS)},
                            },
                        },
                    },
                    "relations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["subject", "predicate", "object"],
                            "properties": {
                                "subject": {"type": "string", "minLength": 1},
                                "predicate": {"type": "string", "minLength": 1},
                                "object": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
        }
    },
}

SYSTEM_PROMPT = """You extract long-term memories from one conversation turn.
Return only facts worth remembering in later conversations: stable facts about people, their \
preferences, past or upcoming events, and plans. Skip greetings, small talk, questions and anything \
only true for this moment. Each fact must be a short, self-contained statement in the third person \
that names the speaker instead of saying "I" or "you". Use the recent conversation only to resolve \
references; extract facts from the current turn only. If nothing is worth remembering, return \
{"facts": []}.
Answer with a single JSON object that matches this JSON schema, and nothing else:
"""


class ExtractionOutputError(ValueError):
    """The model's answer does not match the output schema."""


class LLMExtractor:
    """Extracts ``ExtractedFact``s from a turn with a chat model; on any failure, uses ``fallback``."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        fallback: FallbackExtractor,
        timeout_s: float = 30.0,
        max_retries: int = 1,
        max_facts: int = 10,
        max_fact_chars: int = 500,
        max_turn_tokens: int = 4000,
        max_context_tokens: int = 1000,
        temperature: float = 0.0,
        token_counter: TokenCounter | None = None,
        client: OpenAI | None = None,
    ) -> None:
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries)
        self._client = client
        self._model = model
        self._fallback = fallback
        self._max_facts = max_facts
        self._max_fact_chars = max_fact_chars
        self._max_turn_tokens = max_turn_tokens
        self._max_context_tokens = max_context_tokens
        self._temperature = temperature
        self._tokens = token_counter or TokenCounter()
        self._system_prompt = SYSTEM_PROMPT + json.dumps(OUTPUT_SCHEMA, separators=(",", ":"))
        # Exposed for metrics: how often the model could not be used.
        self.fallback_count = 0

    @classmethod
    def from_settings(cls, settings: Settings, fallback: FallbackExtractor, **kwargs: Any) -> LLMExtractor:
        return cls(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            fallback=fallback,
            **kwargs,
        )

    @property
    def model_name(self) -> str:
        return self._model

    def __call__(self, turn: TurnInput) -> list[ExtractedFact]:
        # Same shape as the fallback, so the two are interchangeable where an extractor is expected.
        return self.extract(turn)

    def extract(self, turn: TurnInput, context: Sequence[TurnInput] = ()) -> list[ExtractedFact]:
        from openai import OpenAIError

        try:
            content = self._complete(turn, context)
            return self._parse(content)
        except (OpenAIError, ExtractionOutputError) as exc:
            # OpenAIError covers timeouts, connection failures and HTTP status errors (after retries).
            self.fallback_count += 1
            log.warning("LLM extraction failed (%s: %s); using fallback extractor", type(exc).__name__, str(exc)[:300])
            return self._fallback(turn)

    def _complete(self, turn: TurnInput, context: Sequence[TurnInput]) -> str:
        response = self._client.chat.completions.create(
            model=self._model,
            messages=[
                {"role": "system", "content": self._system_prompt},
                {"role": "user", "content": self._user_message(turn, context)},
            ],
            response_format={"type": "json_object"},
            temperature=self._temperature,
        )
        if not response.choices:
            raise ExtractionOutputError("response has no choices")
        choice = response.choices[0]
        if choice.finish_reason == "length":
            raise ExtractionOutputError("answer was cut off at the token limit")
        # The client builds response objects without validation, so a sloppy server can omit fields.
        content = getattr(getattr(choice, "message", None), "content", None)
        if not isinstance(content, str) or not content.strip():
            raise ExtractionOutputError("answer is empty")
        return content

    def _user_message(self, turn: TurnInput, context: Sequence[TurnInput]) -> str:
        # Newest context first until the budget runs out: the latest turns resolve most references.
        lines: list[str] = []
        budget = self._max_context_tokens
        for previous in reversed(context):
            line = f"{previous.speaker} ({previous.role}): {previous.text}"
            cost = self._tokens.count(line)
            if cost > budget:
                break
            lines.append(line)
            budget -= cost
        recent = "\n".join(reversed(lines)) or "(none)"
        text = self._tokens.truncate(turn.text, self._max_turn_tokens)
        return f"Recent conversation:\n{recent}\n\nCurrent turn, by {turn.speaker} ({turn.role}):\n{text}"

    def _parse(self, content: str) -> list[ExtractedFact]:
        try:
            payload = json.loads(_strip_code_fence(content))
        except json.JSONDecodeError as exc:
            raise ExtractionOutputError(f"answer is not JSON: {exc}") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("facts"), list):
            raise ExtractionOutputError('answer is not an object with a "facts" list')
        items = payload["facts"]
        if len(items) > self._max_facts:
            raise ExtractionOutputError(f"{len(items)} facts exceed the limit of {self._max_facts}")
        return [self._fact(item, i) for i, item in enumerate(items)]

    def _fact(self, item: object, index: int) -> ExtractedFact:
        where = f"facts[{index}]"
        if not isinstance(item, dict):
            raise ExtractionOutputError(f"{where} is not an object")
        text = _text(item.get("text"), f"{where}.text", self._max_fact_chars)
        kind = item.get("kind")
        if not isinstance(kind, str) or kind not in FACT_KINDS:
            raise ExtractionOutputError(f"{where}.kind {kind!r} is not one of {sorted(FACT_KINDS)}")
        entities = _list(item.get("entities"), f"{where}.entities", MAX_ENTITIES_PER_FACT)
        relations = _list(item.get("relations"), f"{where}.relations", MAX_RELATIONS_PER_FACT)
        return ExtractedFact(
            text=text,
            kind=kind,
            entities=tuple(_entity(e, f"{where}.entities[{j}]") for j, e in enumerate(entities)),
            relations=tuple(_relation(r, f"{where}.relations[{j}]") for j, r in enumerate(relations)),
        )


def _strip_code_fence(content: str) -> str:
    # Some compatible servers wrap JSON mode answers in a markdown fence anyway.
    stripped = content.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) >= 6:
        body = stripped[3:-3]
        first_newline = body.find("\n")
        if first_newline != -1 and body[:first_newline].strip().isalpha():
            body = body[first_newline + 1 :]  # drop the language tag, e.g. "json"
        return body
    return stripped


def _text(value: object, where: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise ExtractionOutputError(f"{where} is not a string")
    text = " ".join(value.split())  # one line: facts are embedded and shown in prompts
    if not text:
        raise ExtractionOutputError(f"{where} is empty")
    if len(text) > max_chars:
        raise ExtractionOutputError(f"{where} has {len(text)} chars, limit {max_chars}")
    return text


def _list(value: object, where: str, max_items: int) -> list[object]:
    if not isinstance(value, list):
        raise ExtractionOutputError(f"{where} is not a list")
    if len(value) > max_items:
        raise ExtractionOutputError(f"{where} has {len(value)} items, limit {max_items}")
    return value


def _entity(value: object, where: str) -> ExtractedEntity:
    if not isinstance(value, dict):
        raise ExtractionOutputError(f"{where} is not an object")
    name = _text(value.get("name"), f"{where}.name", MAX_NAME_CHARS)
    raw_kind = value.get("kind")
    kind = _ENTITY_KIND_ALIASES.get(raw_kind, raw_kind) if isinstance(raw_kind, str) else None
    if kind not in ENTITY_KINDS:
        raise ExtractionOutputError(f"{where}.kind {raw_kind!r} is not one of {sorted(ENTITY_KINDS)}")
    assert kind is not None
    return ExtractedEntity(name=name, kind=kind)


def _relation(value: object, where: str) -> ExtractedRelation:
    if not isinstance(value, dict):
        raise ExtractionOutputError(f"{where} is not an object")
    return ExtractedRelation(
        subject=_text(value.get("subject"), f"{where}.subject", MAX_NAME_CHARS),
        predicate=_text(value.get("predicate"), f"{where}.predicate", MAX_NAME_CHARS),
        object=_text(value.get("object"), f"{where}.object", MAX_NAME_CHARS),
    )
