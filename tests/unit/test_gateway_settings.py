"""The gateway's settings that are read once at start-up: per-app rate limits and CORS origins.

A setting the API cannot read stops it with a message naming the setting and the entry, instead of quietly
leaving an app on the default limit or an origin that a browser never sends.
"""

from __future__ import annotations

import pytest

from api.app import create_app
from api.cors import CorsSettingError, cors_config, parse_origins
from api.gateway.principal import Principal, Scope
from api.gateway.rate_policy import RatePolicy, RatePolicyError, parse_app_limits
from memory.settings import Settings

READ = frozenset({Scope.READ})


def test_per_app_limits_are_read_with_spaces_and_empty_entries() -> None:
    assert parse_app_limits("") == {}
    assert parse_app_limits(" app1=5000, app2 = 100 ,,") == {"app1": 5000, "app2": 100}
    assert parse_app_limits("team.one:prod=7") == {"team.one:prod": 7}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("app1:5000", "'app1:5000' is not '<app_id>=<requests per minute>'"),
        ("app1=lots", "'app1=lots' is not '<app_id>=<requests per minute>'"),
        ("app1=-3", "'app1=-3' is not"),
        ("=5", "'=5' is not"),
        ("app1=0", "the limit of app 'app1' must be at least 1"),
        ("app1=5,app1=6", "app 'app1' is named twice"),
    ],
)
def test_a_per_app_limit_that_cannot_be_read_is_refused_naming_the_setting(raw: str, message: str) -> None:
    with pytest.raises(RatePolicyError, match="MEMSTREAM_RATE_LIMITS_PER_APP") as refused:
        parse_app_limits(raw)
    assert message in str(refused.value)


def test_the_api_does_not_start_with_an_unreadable_limit() -> None:
    with pytest.raises(RatePolicyError, match="app1=many"):
        create_app(Settings(auth_enabled=True, rate_limits_per_app="app1=many"))
    with pytest.raises(RatePolicyError, match="MEMSTREAM_RATE_LIMIT_PER_MINUTE"):
        create_app(Settings(auth_enabled=True, rate_limit_per_minute=0))


def test_a_keys_limit_wins_over_its_apps_and_an_apps_over_the_default() -> None:
    policy = RatePolicy.from_settings(Settings(rate_limit_per_minute=1000, rate_limits_per_app="big=5000"))
    assert policy.limit_for(Principal("big", None, READ, "key:k1", rate_limit=20)) == 20
    assert policy.limit_for(Principal("big", "ana", READ, "jwt:hs256:ana")) == 5000
    assert policy.limit_for(Principal("small", "ana", READ, "jwt:hs256:ana")) == 1000


def test_cors_is_closed_unless_origins_are_named() -> None:
    assert cors_config("") is None
    assert cors_config(" , ") is None
    config = cors_config("https://app.example.com, http://localhost:3000")
    assert config is not None
    assert config.allow_origins == ["https://app.example.com", "http://localhost:3000"]
    assert config.allow_credentials is False  # bearer tokens, never cookies
    assert "RateLimit-Remaining" in config.expose_headers and "Retry-After" in config.expose_headers


@pytest.mark.parametrize("origin", ["https://app.example.com/", "app.example.com", "https://a.example.com/x", "ftp://a"])
def test_an_origin_a_browser_never_sends_is_refused_at_start(origin: str) -> None:
    with pytest.raises(CorsSettingError, match="MEMSTREAM_CORS_ORIGINS"):
        parse_origins(origin)
    with pytest.raises(CorsSettingError):
        create_app(Settings(cors_origins=origin))
