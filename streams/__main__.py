"""``python -m streams worker`` runs the Faust worker with settings from the environment."""

from __future__ import annotations

from adapters.kafka import ensure_topics
from adapters.metrics import serve
from adapters.settings_loader import load_settings
from streams.app import create_app


def main() -> None:
    settings = load_settings()
    ensure_topics(settings)
    serve(settings, settings.streams_metrics_port, "streams")
    create_app(settings).main()


if __name__ == "__main__":
    main()
