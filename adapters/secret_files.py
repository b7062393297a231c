"""Secrets kept in files under ``<data_dir>/secrets/``: generated once, private, the same for every process.

The key that signs consistency tokens (``adapters.token_key``) and the Kafka principals' passwords of the local
stack (``adapters.kafka_auth``, ``infra/local/services/kafka.py``, ``adapters.producer_door``) live there
(directory 0700, files 0600). Whichever process needs one first generates it; every other process, now or
after a restart, reads the same file. Standard library only: ``infra/local/stack.py`` imports it too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

SECRETS_DIR = Path("secrets")
MIN_SECRET_CHARS = 16


class SecretFileError(RuntimeError):
    pass


def secret_from_file(path: Path) -> str:
    """The secret in ``path``, generated there first if missing; safe when several processes start at once."""
    if not path.exists():
        generate_secret_file(path)
    return read_secret_file(path)


def generate_secret_file(path: Path) -> None:
    """Writes 64 random hex characters to ``path`` unless it exists; the first of concurrent writers wins.

    Hex needs no quoting anywhere a secret goes: JAAS entries, properties files, URLs, command lines."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # A hard link appears whole or not at all and never replaces: the first process to link wins and
        # every other one reads the winner's secret, so no two processes ever hold different ones.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()


def read_secret_file(path: Path) -> str:
    """The secret in ``path``, stripped; a file other users may read is refused rather than trusted."""
    mode = path.stat().st_mode
    if mode & 0o077:
        raise SecretFileError(f"{path} is readable by other users (mode {mode & 0o777:o}); chmod 600 it")
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretFileError(f"{path} holds no usable secret; delete it and a new one is generated")
    return secret
