"""Secrets kept in files under ``<data_dir>/secrets/``: generated once, readable by their owner only.

Used for the keys a process generates for itself when no setting gives one (the consistency-token key, the API
key pepper) and for the admin key ``memstream run`` keeps for the user. Several processes may start at once
and ask for the same file: exactly one content wins and every process reads that one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

SECRETS_DIR = Path("secrets")


class SecretFileError(RuntimeError):
    pass


def random_hex() -> str:
    return secrets.token_hex(32)


def generated_secret(path: Path, make: Callable[[], str] = random_hex) -> str:
    """The secret in ``path``, generated there first with ``make`` if missing."""
    if not path.exists():
        write_once(path, make())
    return read_secret(path)


def write_once(path: Path, content: str) -> bool:
    """Write ``content`` to ``path`` (mode 0600, directory 0700) unless it exists; whether this call wrote it."""
    draft = _draft(path, content)
    try:
        # A hard link appears whole or not at all and never replaces: the first process to link wins and
        # every other one reads the winner's content.
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


def read_secret(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & 0o077:
        raise SecretFileError(f"{path} is readable by other users (mode {mode & 0o777:o}); chmod 600 it")
    secret = path.read_text().strip()
    if not secret:
        raise SecretFileError(f"{path} is empty; delete it and a new one is generated")
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
