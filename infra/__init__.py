"""Deployment and local-run tooling; not part of the installed package (see pyproject.toml)."""
