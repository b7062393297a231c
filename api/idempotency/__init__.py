"""Idempotent writes: the ``Idempotency-Key`` header on ``POST /v1/memories`` and every route whose handler says
``opt={"idempotent": True}``.

``store`` keeps each key's request fingerprint and first answer in PostgreSQL (the live schema, like
``api_keys``); ``middleware`` reserves a key before the route runs and replays the first answer afterwards;
``openapi`` states the header on those routes.
"""
