#!/usr/bin/env python3
"""Generates the Compose secrets of ``infra/compose/compose.yaml`` into ``infra/compose/secrets/``.

    python infra/compose/generate_secrets.py [--dir DIR]

Idempotent: a file that exists is kept, so running it again never changes a password the stores already
have (delete a file, and its volume, to get a new one). Random passwords (64 hex characters) come from
``adapters.secret_files``; ``neo4j_auth`` is ``neo4j/<neo4j_password>``, the form the Neo4j image reads, and
``minio_root_user`` is a name, not a secret.

Modes: the directory is 0700, so no other user of this machine can reach the files; the files themselves are
0644 because Docker Compose bind-mounts each one into its containers as it is, and the stores' processes run
as their own users there (postgres, redis, neo4j, the project's uid 10001), not as the owner of the file.
Standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from adapters.secret_files import random_hex, read_secret, write_once  # noqa: E402

SECRETS_DIR = Path(__file__).resolve().parent / "secrets"
RANDOM_SECRETS = ("postgres_password", "redis_password", "neo4j_password", "minio_root_password")
NEO4J_USER = "neo4j"
MINIO_ROOT_USER = "memstream"
ALL_SECRETS = (*RANDOM_SECRETS, "neo4j_auth", "minio_root_user")


def generate(directory: Path = SECRETS_DIR) -> list[Path]:
    """Writes the missing secrets under ``directory``; returns the files it created."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    created = []
    for name in RANDOM_SECRETS:
        path = directory / name
        if not path.exists():
            write_once(path, random_hex())
            created.append(path)
    neo4j_password = read_secret(directory / "neo4j_password", private=False)
    derived = {"neo4j_auth": f"{NEO4J_USER}/{neo4j_password}\n", "minio_root_user": f"{MINIO_ROOT_USER}\n"}
    for name, text in derived.items():
        path = directory / name
        if not path.exists():
            path.write_text(text)
            created.append(path)
    for name in ALL_SECRETS:
        os.chmod(directory / name, 0o644)
    return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="generate the Compose secrets of infra/compose/compose.yaml")
    parser.add_argument("--dir", type=Path, default=SECRETS_DIR, help=f"where to write them (default {SECRETS_DIR})")
    args = parser.parse_args(argv)
    created = generate(args.dir)
    for path in created:
        print(f"created {path}")
    print(f"{len(ALL_SECRETS) - len(created)} secret(s) already there, {len(created)} created in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
