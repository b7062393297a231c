"""``python -m api`` serves the API with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from adapters.settings_loader import load_settings
from api.app import create_app


def main() -> None:
    settings = load_settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info")


if __name__ == "__main__":
    main()
