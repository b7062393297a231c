"""PostgreSQL's SCRAM-SHA-256 password verifiers (RFC 5802/7677, the format of ``pg_authid.rolpassword``).

The stack gives roles their passwords as verifiers computed here, so the password itself never travels to the
server (where a failing statement is logged with its text), and it checks a role's stored verifier against the
password it should have, so that a start changes nothing when nothing changed. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
SALT_BYTES = 16


def verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` for ``password``."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", _normalized(password), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def verifies(stored: str | None, password: str) -> bool:
    """Whether ``stored`` (a role's ``rolpassword``: a verifier, an md5 hash, or NULL) accepts ``password``
    as a SCRAM verifier. Anything else, an md5 hash included, is a password to set again."""
    if not stored or not stored.startswith("SCRAM-SHA-256$"):
        return False
    try:
        params, _keys = stored.removeprefix("SCRAM-SHA-256$").split("$")
        iterations, salt = params.split(":")
        expected = verifier(password, salt=base64.b64decode(salt), iterations=int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode(), stored.encode())


def _normalized(password: str) -> bytes:
    # PostgreSQL runs SASLprep over the password first; on printable ASCII it changes nothing, so the stack
    # accepts only that (its generated passwords are hex) rather than half-implement SASLprep.
    if not (password.isascii() and password.isprintable()):
        raise ValueError("the local stack supports printable ASCII PostgreSQL passwords only")
    return password.encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
