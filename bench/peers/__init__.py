"""Other memory systems run beside memstream on the same data (``bench.peers.mem0_locomo``).

A peer is never a dependency of the project: each lives in a virtual environment of its own that its benchmark
creates, and runs there as a child process. Nothing in this package may import a peer's code.
"""
