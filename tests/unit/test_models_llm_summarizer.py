"""LLMSummarizer against the OpenAI stand-in (the one fake: a remote endpoint we cannot reach here)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from memory.lifecycle.summarize import SummaryItem
from memory.settings import Settings
from models.llm_summarizer import LLMSummarizer
from streams.context import policy_from
from tests.fakes.openai_standin import ChatReply, OpenAIStandIn

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ITEMS = [
    SummaryItem("Maya: Sarah and I are building the Apollo app.", 0.6, T0 + timedelta(days=1)),
    SummaryItem("Maya: The Apollo app launches in March.", 0.5, T0),
]


class Fallback:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, items: Sequence[SummaryItem], max_chars: int) -> str:
        self.calls.append((len(items), max_chars))
        return "extractive"


@pytest.fixture
def standin() -> Iterator[OpenAIStandIn]:
    server = OpenAIStandIn()
    with server:
        yield server


def summarizer(standin: OpenAIStandIn, fallback: Fallback) -> LLMSummarizer:
    return LLMSummarizer(standin.base_url, "sk-test", "chat-model-x", fallback=fallback)


def test_the_models_answer_is_the_summary_and_the_request_is_dated_oldest_first(standin: OpenAIStandIn) -> None:
    standin.set_chat(ChatReply(content="  Maya and Sarah build the Apollo app,\n launching in March. "))
    fallback = Fallback()
    text = summarizer(standin, fallback).summarize(ITEMS, 300)
    assert text == "Maya and Sarah build the Apollo app, launching in March."
    assert fallback.calls == []
    (request,) = standin.requests_to("/v1/chat/completions")
    assert request.body["model"] == "chat-model-x"
    user = request.body["messages"][1]["content"]
    assert user.index("[2026-01-01] Maya: The Apollo app launches") < user.index("[2026-01-02] Maya: Sarah")
    assert "300 characters" in request.body["messages"][0]["content"]


@pytest.mark.parametrize(
    "reply",
    [
        ChatReply(content=""),
        ChatReply(content="x" * 301),
        ChatReply(content="cut", finish_reason="length"),
        ChatReply(status=500),
    ],
)
def test_an_unusable_answer_falls_back_to_the_extractive_summary(standin: OpenAIStandIn, reply: ChatReply) -> None:
    standin.set_chat(reply)
    fallback = Fallback()
    llm = summarizer(standin, fallback)
    assert llm.summarize(ITEMS, 300) == "extractive"
    assert fallback.calls == [(2, 300)] and llm.fallback_count == 1


def test_the_worker_uses_the_llm_only_when_an_endpoint_is_configured(standin: OpenAIStandIn) -> None:
    assert policy_from(Settings()).summarizer_name == "extractive-v1"
    configured = policy_from(Settings(llm_base_url=standin.base_url, llm_model="chat-model-x"))
    assert configured.summarizer_name == "llm:chat-model-x"
    standin.set_chat(ChatReply(content="Merged."))
    assert configured.summarizer(ITEMS, 100) == "Merged."
