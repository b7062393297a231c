"""The no-Docker local stack: ``stack.py`` (entry point and orchestrator) and ``services/`` (one module each)."""
