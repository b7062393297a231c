"""The default app's admin key: created by the first ``memstream run``, kept for the user, printed at every start.

It lives in ``<data_dir>/secrets/default-admin.key`` (mode 0600; ``settings.admin_key_file`` moves it), so the
README's quick start can read it: ``export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)``.
The file's key is checked against the key table at every start: a key the table does not know (the database
was reset) is replaced by a new one; a key someone revoked or that expired is left alone and reported, so a
revocation is never undone behind the user's back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from adapters.api_key_pepper import api_key_pepper
from adapters.secret_files import SECRETS_DIR, read_secret, replace_secret, write_once
from api.gateway.key_format import matches, prefix_of
from api.gateway.key_store import IssuedKey, create_key, ensure_table, find_key, revoke_key
from api.gateway.principal import Scope
from memory.settings import Settings

DEFAULT_FILE = SECRETS_DIR / "default-admin.key"
DEFAULT_APP = "default"
NAME = "memstream run: admin of the default app"


@dataclass(frozen=True)
class AdminKey:
    path: Path
    key: str | None  # None: the kept key no longer works (``problem`` says why)
    problem: str = ""


def admin_key_path(settings: Settings) -> Path:
    return Path(settings.admin_key_file) if settings.admin_key_file else settings.data_dir / DEFAULT_FILE


def ensure_admin_key(settings: Settings) -> AdminKey:
    path = admin_key_path(settings)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        ensure_table(conn)
        pepper = api_key_pepper(settings)
        if not path.exists():
            issued = _issue(conn, pepper)
            if not write_once(path, issued.key):  # another `memstream run` kept its key first: use that one
                revoke_key(conn, issued.record.prefix)
                return ensure_admin_key(settings)
            return AdminKey(path, issued.key)
        kept = read_secret(path)
        prefix = prefix_of(kept)
        record = find_key(conn, prefix) if prefix else None
        if record is None or not matches(pepper, kept, record.secret_hash):
            issued = _issue(conn, pepper)
            replace_secret(path, issued.key)
            return AdminKey(path, issued.key)
    if record.revoked_at is not None:
        return AdminKey(path, None, f"the admin key in {path} was revoked; delete the file and restart for a new one")
    if record.expired(datetime.now(UTC)):
        return AdminKey(path, None, f"the admin key in {path} expired; delete the file and restart for a new one")
    return AdminKey(path, kept)


def _issue(conn: psycopg.Connection, pepper: bytes) -> IssuedKey:
    return create_key(conn, pepper, DEFAULT_APP, scopes=(Scope.ADMIN,), name=NAME)
