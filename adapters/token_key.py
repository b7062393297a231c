"""The key that signs consistency tokens (memory.contract.positions); reading and writing it is I/O, so it
lives with the adapters.

``MEMSTREAM_TOKEN_SECRET`` when set (at least 16 characters). Otherwise a random key generated once into
``<data_dir>/secrets/consistency-token.key`` (a secret file, ``adapters.secret_files``) and read by every
process after: it outlives restarts and every API process of the machine signs and verifies with the same key.
Several machines share one key by setting ``MEMSTREAM_TOKEN_SECRET`` to the file's content.
"""

from __future__ import annotations

from pathlib import Path

from adapters.secret_files import MIN_SECRET_CHARS, SECRETS_DIR, SecretFileError, secret_from_file
from memory.settings import Settings

KEY_FILE = SECRETS_DIR / "consistency-token.key"


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
    try:
        return secret_from_file(path).encode()
    except SecretFileError as exc:
        raise TokenKeyError(str(exc)) from None
