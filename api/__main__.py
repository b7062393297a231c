"""``python -m api`` serves the API with uvicorn on the configured host and port."""

from __future__ import annotations

import sys

import uvicorn

from adapters.settings_loader import load_settings
from api.app import create_app
from api.gateway.authenticate import ExposedWithoutAuthentication
from api.gateway.credentials import CredentialSettingsError


def main() -> int:
    settings = load_settings()
    try:
        app = create_app(settings)
    except (ExposedWithoutAuthentication, CredentialSettingsError) as exc:
        print(f"memstream api: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
