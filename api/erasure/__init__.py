"""Erasure receipts: erasing a user answers with an id, and ``GET /v1/erasures/{id}`` says, store by store,
whether that user's data is gone, checked against the stores themselves (``replay.erasure``).

``ledger`` keeps each request in PostgreSQL (so any API process can answer for it), ``receipt`` asks the
log and the stores, ``routes`` serves it to the admins of the request's app.
"""
