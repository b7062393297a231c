"""Secrets kept in files under ``<data_dir>/secrets/``: generated once, readable by their owner only, the same
for every process.

What lives there: the key that signs consistency tokens (``adapters.token_key``), the API key pepper
(``adapters.api_key_pepper``), the admin key ``memstream run`` keeps for the user (``memstream_cli.admin_key``),
the stores' passwords (``adapters.store_credentials``) and the Kafka principals' passwords
(``adapters.kafka_auth``) of the local stack. Whichever process needs one first generates it; every other
process, now or after a restart, reads the same file. Standard library only: ``infra/local/stack.py`` imports
it too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

SECRETS_DIR = Path("secrets")
MIN_SECRET_CHARS = 16


class SecretFileError(RuntimeError):
    pass


def random_hex() -> str:
    """64 random hex characters: no quoting needed anywhere a secret goes (URLs, JAAS entries, SQL, shells)."""
    return secrets.token_hex(32)


def generated_secret(path: Path, make: Callable[[], str] = random_hex) -> str:
    """The secret in ``path``, generated there first with ``make`` if missing; safe when several processes start
    at once."""
    if not path.exists():
        write_once(path, make())
    return read_secret(path)


def write_once(path: Path, content: str) -> bool:
    """Write ``content`` to ``path`` (mode 0600, directory 0700) unless it exists; whether this call wrote it."""
    draft = _draft(path, content)
    try:
        # A hard link appears whole or not at all and never replaces: the first process to link wins and
        # every other one reads the winner's content, so no two processes ever hold different secrets.
        os.link(draft, path)
        return True
    except FileExistsError:
        return False
    finally:
        draft.unlink()


def replace_secret(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` whole (mode 0600), replacing what was there."""
    draft = _draft(path, content)
    try:
        os.replace(draft, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()


def read_secret(path: Path, *, private: bool = True) -> str:
    """The secret in ``path``, stripped. ``private``: refuse a file other users may read (files we generate);
    a file a deployment points at (a Docker secret, mounted 0644 by design) is its owner's business."""
    if private:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise SecretFileError(f"{path} is readable by other users (mode {mode & 0o777:o}); chmod 600 it")
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretFileError(
            f"{path} holds no usable secret (fewer than {MIN_SECRET_CHARS} characters); "
            "delete it and a new one is generated"
        )
    return secret


def _draft(path: Path, content: str) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return draft
