"""The Neo4j driver runs with its Rust PackStream codec: the rebuild rate in bench/RESULTS.md depends on it.

Without ``neo4j-rust-ext`` the driver silently falls back to its pure-Python codec and the Neo4j projection's
rebuild drops below the 5,000 events/s the replay issue asks for; this catches a dependency change that loses it.
"""

from __future__ import annotations

from importlib.metadata import version

from neo4j._codec.packstream import RUST_AVAILABLE  # the flag the driver itself reads (neo4j._meta)


def test_the_driver_packs_and_unpacks_with_its_rust_extension() -> None:
    assert RUST_AVAILABLE


def test_the_extension_matches_the_driver_it_accelerates() -> None:
    # neo4j-rust-ext 6.4.1.0 is built for neo4j 6.4.1 exactly; a mismatch is refused by pip, or silently slow.
    assert version("neo4j-rust-ext").rsplit(".", 1)[0] == version("neo4j")
