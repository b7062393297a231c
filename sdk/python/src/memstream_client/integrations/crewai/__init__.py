"""memstream as a CrewAI crew's memory (``pip install 'memstream-client[crewai]'``, CrewAI 1.15.30).

``MemstreamMemory(crew_id=..., user_id=...)`` is CrewAI's unified ``Memory`` with its memories in memstream: pass
it as ``Crew(memory=...)`` or ``Agent(memory=...)``. ``MemstreamStorage`` is the ``StorageBackend`` it stores
through. The extra cannot share an environment with ``[mcp]`` (or the server): CrewAI 1.15.30 needs ``mcp<2``,
``openai<3``, ``pyjwt>=2.15`` and ``pydantic<2.13`` (sdk/python/README.md).
"""

try:
    from memstream_client.integrations.crewai.memory import MemstreamMemory
    from memstream_client.integrations.crewai.storage import CrewScope, MemstreamStorage
except ModuleNotFoundError as missing:  # pragma: no cover - depends on the environment
    if missing.name is None or missing.name.split(".")[0] != "crewai":
        raise
    raise ModuleNotFoundError(
        "memstream_client.integrations.crewai needs CrewAI: pip install 'memstream-client[crewai]'"
        " (in an environment of its own: CrewAI 1.15.30 cannot be installed beside memstream-client[mcp])",
        name=missing.name,
    ) from missing

__all__ = ["CrewScope", "MemstreamMemory", "MemstreamStorage"]
