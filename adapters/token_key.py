"""The key that signs consistency tokens (memory.contract.positions); reading and writing it is I/O, so it
lives with the adapters.

``MEMSTREAM_TOKEN_SECRET`` when set (at least 16 characters). Otherwise a random key generated once into
``<data_dir>/secrets/consistency-token.key`` (mode 0600, directory 0700) and read by every process after:
it outlives restarts and every API process of the machine signs and verifies with the same key. Several
machines share one key by setting ``MEMSTREAM_TOKEN_SECRET`` to the file's content.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from memory.settings import Settings

KEY_FILE = Path("secrets") / "consistency-token.key"
MIN_SECRET_CHARS = 16


class TokenKeyError(RuntimeError):
    pass


def token_key(settings: Settings) -> bytes:
    if settings.token_secret:
        if len(settings.token_secret) < MIN_SECRET_CHARS:
            raise TokenKeyError(f"MEMSTREAM_TOKEN_SECRET must have at least {MIN_SECRET_CHARS} characters")
        return settings.token_secret.encode()
    return key_from_file(settings.data_dir / KEY_FILE)


def key_from_file(path: Path) -> bytes:
    """The key in ``path``, generated there first if missing; safe when several processes start at once."""
    if not path.exists():
        _generate(path)
    return _read(path)


def _generate(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # A hard link appears whole or not at all and never replaces: the first process to link wins and
        # every other one reads the winner's key, so no two processes ever sign with different keys.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & 0o077:
        raise TokenKeyError(f"{path} is readable by other users (mode {mode & 0o777:o}); chmod 600 it")
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise TokenKeyError(f"{path} holds no usable key; delete it and a new one is generated")
    return secret.encode()
