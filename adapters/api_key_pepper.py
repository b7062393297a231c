"""The pepper of API key hashes (api/gateway/key_store.py): a server-side secret mixed into every key's HMAC,
so a copy of the ``api_keys`` table alone cannot be used to test guesses offline.

``MEMSTREAM_API_KEY_PEPPER`` when set (at least 16 characters; every API process and the CLI must share it).
Otherwise a random pepper generated once into ``<data_dir>/secrets/api-key-pepper.key`` (mode 0600), which every
process of the machine reads. Changing the pepper invalidates every key issued before.
"""

from __future__ import annotations

from adapters.secret_files import SECRETS_DIR, SecretFileError, generated_secret
from memory.settings import Settings

PEPPER_FILE = SECRETS_DIR / "api-key-pepper.key"
MIN_PEPPER_CHARS = 16


def api_key_pepper(settings: Settings) -> bytes:
    if settings.api_key_pepper:
        if len(settings.api_key_pepper) < MIN_PEPPER_CHARS:
            raise SecretFileError(f"MEMSTREAM_API_KEY_PEPPER must have at least {MIN_PEPPER_CHARS} characters")
        return settings.api_key_pepper.encode()
    pepper = generated_secret(settings.data_dir / PEPPER_FILE)
    if len(pepper) < MIN_PEPPER_CHARS:
        raise SecretFileError(f"{settings.data_dir / PEPPER_FILE} holds no usable pepper; delete it to generate one")
    return pepper.encode()
