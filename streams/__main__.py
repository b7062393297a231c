"""``python -m streams worker`` runs the Faust worker with settings from the environment."""

from __future__ import annotations

from adapters.kafka import ensure_topics
from memory.settings import Settings
from streams.app import create_app


def main() -> None:
    settings = Settings.from_env()
    ensure_topics(settings)
    create_app(settings).main()


if __name__ == "__main__":
    main()
