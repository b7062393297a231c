"""A stand-in for an LLM: CrewAI ships no test model, so this ``BaseLLM`` answers every call with the next of
its scripted replies, and records the messages it was sent (what a crew put in its prompt, memories included)."""

from __future__ import annotations

from typing import Any

from crewai.llms.base_llm import BaseLLM
from pydantic import Field, PrivateAttr


class ScriptedLLM(BaseLLM):
    """A stand-in for an LLM (no model, no network): replies in order, the last one repeated."""

    replies: list[str] = Field(default_factory=lambda: ["Thought: done.\nFinal Answer: done"])
    _prompts: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, *replies: str, **data: Any) -> None:
        fields: dict[str, Any] = {"model": "scripted-stand-in-llm", **({"replies": list(replies)} if replies else {})}
        super().__init__(**fields, **data)

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        prompt = messages if isinstance(messages, str) else "\n".join(str(m.get("content", "")) for m in messages)
        self._prompts.append(prompt)
        return self.replies[min(len(self._prompts), len(self.replies)) - 1]

    @property
    def prompts(self) -> list[str]:
        return list(self._prompts)

    def supports_function_calling(self) -> bool:
        return False  # the ReAct text protocol: the reply's "Final Answer:" ends the task
