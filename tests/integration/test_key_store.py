"""The key table on the real PostgreSQL: what is stored (never the key), revocation, and the admin key
``memstream run`` keeps (memstream_cli.admin_key)."""

from __future__ import annotations

import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.api_key_pepper import api_key_pepper
from api.gateway.key_format import matches, prefix_of
from api.gateway.key_store import create_key, ensure_table, find_key, list_keys, revoke_key
from api.gateway.principal import Scope
from memory.contract.validation import InvalidInput
from memory.settings import Settings
from memstream_cli.admin_key import ensure_admin_key

pytestmark = pytest.mark.integration


def test_a_key_is_stored_as_its_hash_with_its_prefix(settings: Settings) -> None:
    pepper = api_key_pepper(settings)
    with psycopg.connect(settings.postgres_dsn) as conn:
        ensure_table(conn)
        ensure_table(conn)  # idempotent
        issued = create_key(conn, pepper, "app-a", user_id="alice", scopes=(Scope.READ,), name="n", rate_limit=10)
        rows = conn.execute("SELECT * FROM api_keys").fetchall()
        assert len(rows) == 1 and issued.key not in repr(rows) and issued.key[12:] not in repr(rows)
        found = find_key(conn, issued.record.prefix)
        assert found is not None and matches(pepper, issued.key, found.secret_hash)
        assert (found.app_id, found.user_id, found.scopes, found.rate_limit_per_minute) == (
            "app-a",
            "alice",
            (Scope.READ,),
            10,
        )
        principal = found.principal()
        assert principal.credential == f"key:{found.prefix}" and principal.rate_limit == 10
        assert issued.key not in repr(issued)  # the record prints without the secret


def test_a_revocation_is_kept_once_and_only_for_the_named_app(settings: Settings) -> None:
    with psycopg.connect(settings.postgres_dsn) as conn:
        ensure_table(conn)
        issued = create_key(conn, api_key_pepper(settings), "app-a")
        prefix = issued.record.prefix
        assert revoke_key(conn, prefix, app_id="app-b") is None  # another app's admin: no such key
        first = revoke_key(conn, prefix)
        again = revoke_key(conn, prefix, app_id="app-a")
        assert first is not None and again is not None and first.revoked_at == again.revoked_at
        assert [r.prefix for r in list_keys(conn, "app-a")] == [prefix] and list_keys(conn, "app-b") == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"app_id": "two words"}, "app_id"),
        ({"user_id": ""}, "user_id"),
        ({"scopes": ()}, "scopes"),
        ({"scopes": ("memories:delete",)}, "scopes"),
        ({"expires_at": datetime.now(UTC) - timedelta(seconds=1)}, "expires_at"),
        ({"rate_limit": 0}, "rate_limit_per_minute"),
        ({"name": "a\nb"}, "name"),
    ],
)
def test_a_key_that_breaks_a_rule_is_refused_naming_the_field(settings: Settings, kwargs: dict, field: str) -> None:  # type: ignore[type-arg]
    arguments = {"app_id": "app-a", **kwargs}
    with psycopg.connect(settings.postgres_dsn) as conn:
        ensure_table(conn)
        with pytest.raises(InvalidInput, match=f"^{field}"):
            create_key(conn, api_key_pepper(settings), **arguments)
        assert list_keys(conn) == []


def test_run_keeps_one_admin_key_and_never_undoes_a_revocation(settings: Settings, tmp_path: Path) -> None:
    settings = replace(settings, admin_key_file=str(tmp_path / "secrets" / "default-admin.key"))
    first = ensure_admin_key(settings)
    assert first.key is not None and stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert ensure_admin_key(settings) == first  # the next start prints the same key
    with psycopg.connect(settings.postgres_dsn) as conn:
        record = find_key(conn, str(prefix_of(first.key)))
        assert record is not None and record.app_id == "default" and record.scopes == (Scope.ADMIN,)
        assert record.user_id is None
        conn.execute("DELETE FROM api_keys")  # the database was reset: the kept key is unknown to it
    replaced = ensure_admin_key(settings)
    assert replaced.key is not None and replaced.key != first.key
    assert first.path.read_text().strip() == replaced.key
    with psycopg.connect(settings.postgres_dsn) as conn:
        revoke_key(conn, str(prefix_of(replaced.key)))
    revoked = ensure_admin_key(settings)
    assert revoked.key is None and "revoked" in revoked.problem
    assert first.path.read_text().strip() == replaced.key  # left for the user to see, not silently replaced
