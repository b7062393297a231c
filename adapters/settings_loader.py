"""The settings a process runs with: ``MEMSTREAM_*`` from the environment, then the credentials the local stack
generated under ``<data_dir>/secrets/`` for whatever the environment left empty.

``memory.settings.Settings.from_env`` stays pure (a mapping in, settings out); reading secret files is I/O, so
it lives here. Every entry point (the API, the worker, the projectors, the CLI, the stack, the benchmarks and the
tests) builds its settings with ``load_settings`` so that no component connects with a different credential
than the one the stack gave the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from adapters.kafka_auth import fill_kafka_credentials
from adapters.store_credentials import fill_store_credentials
from memory.settings import Settings

# Each filler returns the settings with one family of credentials filled in (stores, Kafka principals, ...).
CredentialFiller = Callable[[Settings], Settings]
FILLERS: list[CredentialFiller] = [
    fill_store_credentials,
    fill_kafka_credentials,
]


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    return with_credentials(Settings.from_env(environ))


def with_credentials(settings: Settings) -> Settings:
    """``settings`` with what is still missing filled from the secret files; what is set already stays (so a
    process that started the stack itself, and so created the files, calls this again after)."""
    for fill in FILLERS:
        settings = fill(settings)
    return settings
