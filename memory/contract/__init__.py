"""The event contract: what every topic carries and how it is written.

Owns the event records (``events``) and their Avro codec (``codec``, single-object encoding, earlier schema
versions kept readable), the record/dict conversion (``records``), the deterministic ids that make
re-processing idempotent (``ids``), log positions and the signed consistency token (``positions``), and the
one definition of valid input used by the API, the CLI and extraction alike (``validation``).
"""
