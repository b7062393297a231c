"""One module per service of the local stack, driven by ``infra/local/stack.py``.

``common`` (errors, process, port and log helpers) and ``base`` (the service contract) are shared; ``kafka``,
``neo4j``, ``postgres``, ``redis`` and ``milvus`` each own one service: its install, configuration, launch,
readiness probe and stop.
"""
