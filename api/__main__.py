"""``python -m api`` serves the API with uvicorn on the configured host and port."""

from __future__ import annotations

import sys

import uvicorn

from adapters.logs import configure_logging, logging_config
from adapters.settings_loader import load_settings
from api.app import create_app
from api.gateway.authenticate import ExposedWithoutAuthentication
from api.gateway.credentials import CredentialSettingsError


def main() -> int:
    settings = load_settings()
    configure_logging("api", settings.log_level)
    try:
        app = create_app(settings)
    except (ExposedWithoutAuthentication, CredentialSettingsError) as exc:
        print(f"memstream api: {exc}", file=sys.stderr)
        return 2
    # uvicorn's own lines as JSON too; no access log: api/request_ids.py writes one line per request, with its id.
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=logging_config("api", settings.log_level),
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
