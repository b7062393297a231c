"""memstream for the OpenAI Agents SDK (``pip install 'memstream-client[openai-agents]'``, package ``agents``).

``MemstreamSession`` keeps an agent's conversation history in memstream's conversation log (where memstream
draws its long-term memories from), and ``memory_tools`` gives the agent memstream's memory tools as function
tools::

    memory = AsyncMemstream()
    agent = Agent(name="assistant", tools=await memory_tools(memory, user_id="alice"))
    session = MemstreamSession("trip-planning", client=memory, user_id="alice")
    result = await Runner.run(agent, "I'm vegetarian, remember that.", session=session)
"""

from memstream_client.integrations.openai_agents.session import MemstreamSession
from memstream_client.integrations.openai_agents.tools import memory_tools

__all__ = ["MemstreamSession", "memory_tools"]
