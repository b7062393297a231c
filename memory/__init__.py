"""The pure core of memstream: no broker, store, model or web framework is imported here (import contracts
in pyproject.toml). Read it as the domain:

- ``contract``: the events on the topics, their codec, ids, positions and what valid input is;
- ``language``: sentences, words, stop words, names, stems and time expressions;
- ``ingest``: a turn becomes memories (extraction, importance, derived events);
- ``lifecycle``: the state machine and its decisions (dedupe, contradiction, consolidation, decay);
- ``retrieval``: recipes, fusion, priors, ranking, topics and the context budget;
- ``settings`` and ``errors``: configuration and the errors every layer shares.
"""
