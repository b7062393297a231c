"""What an API key looks like and how it is hashed (pure: no store).

A key is ``ms_<prefix>_<secret>``: ``prefix`` is 8 random lowercase letters and digits, public (it names the key
in lists, logs and the rate limiter, and finds its row); ``secret`` is 32 random bytes in URL-safe base64
(43 characters, 256 bits). Only ``HMAC-SHA256(pepper, whole key)`` is stored: the pepper is a server-side
secret (adapters.api_key_pepper), so the table alone does not let anyone test guesses, and the prefix is part of
what is hashed, so a secret cannot be moved under another key's prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

SCHEME = "ms"
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
PREFIX_CHARS = 8
SECRET_BYTES = 32
PREFIX_PATTERN = rf"^[a-z0-9]{{{PREFIX_CHARS}}}$"
_KEY = re.compile(rf"{SCHEME}_([a-z0-9]{{{PREFIX_CHARS}}})_([A-Za-z0-9_-]{{43}})")
SHAPE = f"{SCHEME}_<{PREFIX_CHARS} letters or digits>_<43 characters of URL-safe base64>"


def looks_like_key(credential: str) -> bool:
    """Whether a credential is meant as an API key (a JWT never starts so: its header is base64 of '{')."""
    return credential.startswith(f"{SCHEME}_")


def new_key() -> tuple[str, str]:
    """A fresh ``(prefix, key)``."""
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_CHARS))
    return prefix, f"{SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def prefix_of(key: str) -> str | None:
    """The key's public prefix, ``None`` when the key does not have the shape of one."""
    found = _KEY.fullmatch(key)
    return found.group(1) if found else None


def digest(pepper: bytes, key: str) -> bytes:
    return hmac.new(pepper, key.encode(), hashlib.sha256).digest()


def matches(pepper: bytes, key: str, stored: bytes) -> bool:
    # Constant time: how much of a guess was right never shows in how long the answer took.
    return hmac.compare_digest(digest(pepper, key), stored)
