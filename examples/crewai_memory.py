"""A CrewAI crew whose memory is memstream: one run learns something, the next run's agent finds it in its prompt.

    make run                                                   # in one terminal: the API
    make crewai-env                                            # CrewAI's own environment (.venv-crewai)
    export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
    .venv-crewai/bin/python examples/crewai_memory.py          # in another

It runs offline: the agent's LLM is a scripted stand-in (CrewAI ships no test model) that answers from a script
and shows what CrewAI put in its prompt. Swap it for ``crewai.LLM(model=...)`` to use a real model; memstream
needs none (it embeds and ranks on the server). Tested with CrewAI 1.15.30.
"""

from __future__ import annotations

import os
from typing import Any

from crewai import Agent, Crew, Task
from crewai.llms.base_llm import BaseLLM
from memstream_client.integrations.crewai import MemstreamMemory
from pydantic import PrivateAttr

for flag in ("CREWAI_DISABLE_TELEMETRY", "OTEL_SDK_DISABLED"):  # no network: nothing sent to CrewAI's telemetry
    os.environ.setdefault(flag, "true")

USER = "crewai_example_user"
CREW = "trip-planner"


class StandInLLM(BaseLLM):
    """A stand-in for an LLM: every call answers with the same scripted reply; the last prompt is kept."""

    _reply: str = PrivateAttr(default="")
    last_prompt: str = ""

    def __init__(self, reply: str) -> None:
        super().__init__(model="stand-in-llm")
        self._reply = f"Thought: I know this.\nFinal Answer: {reply}"

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.last_prompt = messages if isinstance(messages, str) else "\n".join(str(m["content"]) for m in messages)
        return self._reply

    def supports_function_calling(self) -> bool:
        return False


def run_crew(task: str, reply: str) -> StandInLLM:
    llm = StandInLLM(reply)
    planner = Agent(role="Trip planner", goal="Plan Alice's trips", backstory="Remembers travellers.", llm=llm)
    crew = Crew(
        agents=[planner],
        tasks=[Task(description=task, expected_output="one sentence", agent=planner)],
        # The crew's memories live in memstream under agent_id "trip-planner" of user "crewai_example_user".
        memory=MemstreamMemory(crew_id=CREW, user_id=USER, root_scope=f"/crew/{CREW}"),
    )
    print(f"\n{task}\n  -> {crew.kickoff()}")
    return llm


def main() -> None:
    memory = MemstreamMemory(crew_id=CREW, user_id=USER, root_scope=f"/crew/{CREW}")
    memory.reset()  # a clean start for this crew (the user's other memories stay)
    memory.remember("Alice is vegetarian and always books a window seat.", scope="preferences", categories=["travel"])

    run_crew("Find Alice a flight to Lisbon in May.", "TAP flight TP1351 on 14 May, window seat 12A.")
    llm = run_crew("Which flight did Alice get, and where should she eat in Lisbon?", "TP1351; a vegetarian place.")
    memories = llm.last_prompt.split("Relevant memories:", 1)
    print("\nWhat CrewAI put in the second run's prompt from memstream:")
    print(memories[1].split("IMPORTANT:", 1)[0].strip() if len(memories) == 2 else "(nothing)")

    print("\nThe crew's memory in memstream:")
    for record in memory.list_records():
        print(f"  {record.scope}: {record.content.splitlines()[-1][:90]}")
    for match in memory.recall("what does Alice eat?", limit=1):
        print(f"\nrecall('what does Alice eat?'): {match.record.content.splitlines()[-1]} (score {match.score:.2f})")


if __name__ == "__main__":
    main()
