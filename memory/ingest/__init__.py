"""Ingest: a conversation turn becomes memories.

Owns the extraction rules (``extraction``, ``extraction_types``), how important a new memory is
(``importance``), the turn before a memory that it is embedded with (``conversation_context``) and the
events a turn and an embedding derive (``derivation``).
"""
