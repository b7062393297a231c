"""LLMExtractor against the OpenAI stand-in: parsing, strict validation and every fallback path."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from memory.ingest.extraction_types import ExtractedEntity, ExtractedFact, ExtractedRelation, TurnInput
from memory.settings import Settings
from models.llm_extractor import LLMExtractor
from tests.fakes.openai_standin import ChatReply, OpenAIStandIn

TURN = TurnInput(role="user", speaker="Alice", text="I moved to Lisbon last month and I love it.")
FALLBACK_FACT = ExtractedFact(text="fallback: " + TURN.text)


class RecordingFallback:
    def __init__(self) -> None:
        self.turns: list[TurnInput] = []

    def __call__(self, turn: TurnInput) -> list[ExtractedFact]:
        self.turns.append(turn)
        return [FALLBACK_FACT]


def valid_fact(**overrides: Any) -> dict[str, Any]:
    fact: dict[str, Any] = {
        "text": "Alice moved to Lisbon last month.",
        "kind": "event",
        "entities": [{"name": "Alice", "kind": "person"}, {"name": "Lisbon", "kind": "place"}],
        "relations": [{"subject": "Alice", "predicate": "lives_in", "object": "Lisbon"}],
    }
    fact.update(overrides)
    return fact


@pytest.fixture
def standin() -> Iterator[OpenAIStandIn]:
    server = OpenAIStandIn()
    with server:
        yield server


@pytest.fixture
def fallback() -> RecordingFallback:
    return RecordingFallback()


def make_extractor(standin: OpenAIStandIn, fallback: RecordingFallback, **kwargs: Any) -> LLMExtractor:
    settings = Settings(llm_base_url=standin.base_url, llm_api_key="sk-llm", llm_model="chat-model-x")
    kwargs.setdefault("max_retries", 0)
    return LLMExtractor.from_settings(settings, fallback, **kwargs)


def test_valid_output_is_parsed(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    second = valid_fact(text="  Alice  loves\nLisbon. ", kind="preference", entities=[], relations=[])
    standin.set_chat(ChatReply(content=json.dumps({"facts": [valid_fact(), second]})))
    facts = make_extractor(standin, fallback).extract(TURN)

    assert facts == [
        ExtractedFact(
            text="Alice moved to Lisbon last month.",
            kind="event",
            entities=(ExtractedEntity("Alice", "person"), ExtractedEntity("Lisbon", "place")),
            relations=(ExtractedRelation("Alice", "lives_in", "Lisbon"),),
        ),
        ExtractedFact(text="Alice loves Lisbon.", kind="preference"),  # whitespace collapsed
    ]
    assert fallback.turns == []


def test_request_carries_model_json_mode_schema_and_turn(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    context = [
        TurnInput(role="assistant", speaker="bot", text="Where do you live now?"),
        TurnInput(role="user", speaker="Alice", text="Guess!"),
    ]
    make_extractor(standin, fallback).extract(TURN, context)

    (request,) = standin.requests_to("/v1/chat/completions")
    body = request.body
    assert body["model"] == "chat-model-x"
    assert body["response_format"] == {"type": "json_object"}
    assert request.headers["authorization"] == "Bearer sk-llm"
    system, user = body["messages"]
    assert system["role"] == "system" and '"facts"' in system["content"] and "JSON" in system["content"]
    assert TURN.text in user["content"] and "Alice (user)" in user["content"]
    # Context appears oldest first, before the current turn.
    assert user["content"].index("Where do you live now?") < user["content"].index("Guess!")
    assert user["content"].index("Guess!") < user["content"].index(TURN.text)


def test_context_is_cut_to_the_token_budget_newest_first(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    old = TurnInput(role="user", speaker="Alice", text="ancient " * 50)
    new = TurnInput(role="user", speaker="Alice", text="recent remark")
    make_extractor(standin, fallback, max_context_tokens=20).extract(TURN, [old, new])
    user = standin.requests_to("/v1/chat/completions")[0].body["messages"][1]["content"]
    assert "recent remark" in user and "ancient" not in user


def test_empty_fact_list_is_a_valid_answer(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    standin.set_chat(ChatReply(content='{"facts": []}'))
    assert make_extractor(standin, fallback).extract(TURN) == []
    assert fallback.turns == []


def test_code_fenced_json_is_accepted(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    standin.set_chat(ChatReply(content="```json\n" + json.dumps({"facts": [valid_fact()]}) + "\n```"))
    assert [f.text for f in make_extractor(standin, fallback).extract(TURN)] == ["Alice moved to Lisbon last month."]


def test_organization_spelling_is_normalised(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    fact = valid_fact(entities=[{"name": "ACME", "kind": "organization"}])
    standin.set_chat(ChatReply(content=json.dumps({"facts": [fact]})))
    (parsed,) = make_extractor(standin, fallback).extract(TURN)
    assert parsed.entities == (ExtractedEntity("ACME", "organisation"),)


def test_malformed_json_falls_back(
    standin: OpenAIStandIn, fallback: RecordingFallback, caplog: pytest.LogCaptureFixture
) -> None:
    standin.set_chat(ChatReply(content='{"facts": [{"text": "Alice moved'))
    extractor = make_extractor(standin, fallback)
    with caplog.at_level(logging.WARNING, logger="models.llm_extractor"):
        assert extractor.extract(TURN) == [FALLBACK_FACT]
    assert fallback.turns == [TURN]
    assert extractor.fallback_count == 1
    assert "not JSON" in caplog.text


def test_http_500_falls_back(
    standin: OpenAIStandIn, fallback: RecordingFallback, caplog: pytest.LogCaptureFixture
) -> None:
    standin.set_chat(ChatReply(status=500))
    with caplog.at_level(logging.WARNING, logger="models.llm_extractor"):
        assert make_extractor(standin, fallback).extract(TURN) == [FALLBACK_FACT]
    assert fallback.turns == [TURN]
    assert "InternalServerError" in caplog.text


def test_transient_500_is_retried_before_falling_back(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    standin.queue_chat(ChatReply(status=500), ChatReply(content=json.dumps({"facts": [valid_fact()]})))
    facts = make_extractor(standin, fallback, max_retries=1).extract(TURN)
    assert [f.kind for f in facts] == ["event"]
    assert fallback.turns == []
    assert len(standin.requests_to("/v1/chat/completions")) == 2


def test_timeout_falls_back(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    standin.set_chat(ChatReply(content='{"facts": []}', delay_s=5.0))
    extractor = make_extractor(standin, fallback, timeout_s=0.3)
    assert extractor.extract(TURN) == [FALLBACK_FACT]
    assert fallback.turns == [TURN]


def test_unreachable_endpoint_falls_back(fallback: RecordingFallback) -> None:
    with OpenAIStandIn() as base_url:
        pass  # the port is closed again now
    extractor = LLMExtractor(base_url=base_url, api_key="k", model="m", fallback=fallback, max_retries=0)
    assert extractor(TURN) == [FALLBACK_FACT]


@pytest.mark.parametrize(
    ("content", "finish_reason"),
    [
        ("[]", "stop"),  # not an object
        ('{"memories": []}', "stop"),  # wrong key
        ('{"facts": "Alice moved"}', "stop"),  # facts not a list
        (json.dumps({"facts": ["Alice moved"]}), "stop"),  # fact not an object
        (json.dumps({"facts": [valid_fact(text="   ")]}), "stop"),  # empty text
        (json.dumps({"facts": [valid_fact(text=123)]}), "stop"),  # text not a string
        (json.dumps({"facts": [valid_fact(text="x" * 501)]}), "stop"),  # text too long
        (json.dumps({"facts": [valid_fact(kind="opinion")]}), "stop"),  # unknown kind
        (json.dumps({"facts": [valid_fact(kind=["fact"])]}), "stop"),  # kind not a string
        (json.dumps({"facts": [{"text": "Alice moved.", "kind": "fact"}]}), "stop"),  # lists missing
        (json.dumps({"facts": [valid_fact(entities=[{"name": "Bob", "kind": "alien"}])]}), "stop"),
        (json.dumps({"facts": [valid_fact(entities=[{"name": "", "kind": "person"}])]}), "stop"),
        (json.dumps({"facts": [valid_fact(relations=[{"subject": "A", "predicate": "p"}])]}), "stop"),
        (json.dumps({"facts": [valid_fact()] * 11}), "stop"),  # more than max_facts
        (json.dumps({"facts": [valid_fact()]}), "length"),  # cut off at the token limit
        ("", "stop"),  # empty answer
    ],
)
def test_invalid_output_falls_back(
    standin: OpenAIStandIn, fallback: RecordingFallback, content: str, finish_reason: str
) -> None:
    standin.set_chat(ChatReply(content=content, finish_reason=finish_reason))
    assert make_extractor(standin, fallback).extract(TURN) == [FALLBACK_FACT]
    assert fallback.turns == [TURN]


def test_max_facts_is_configurable(standin: OpenAIStandIn, fallback: RecordingFallback) -> None:
    standin.set_chat(ChatReply(content=json.dumps({"facts": [valid_fact()] * 3})))
    assert make_extractor(standin, fallback, max_facts=2).extract(TURN) == [FALLBACK_FACT]
    assert len(make_extractor(standin, fallback, max_facts=3).extract(TURN)) == 3
