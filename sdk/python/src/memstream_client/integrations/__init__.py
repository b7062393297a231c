"""Integrations of the client with agent frameworks, each behind its own extra (``memstream-client[mcp]``,
``[langchain]``, ``[langgraph]``, ``[openai-agents]``, ``[crewai]``).

Nothing here is imported by the client itself: an integration imports its framework, which only its extra installs.
"""
