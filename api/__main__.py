"""``python -m api`` serves the API with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from memory.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info")


if __name__ == "__main__":
    main()
