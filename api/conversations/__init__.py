"""Recall memory: full-text search over the conversation log (``conversation_turns``, projected by the
PostgreSQL projector from the turns topic), by date range, paged; the route and the ``conversation_search``
tool share it. Also a conversation's turns in order (``turns``) and a user's sessions (``sessions``)."""
