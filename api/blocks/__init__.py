"""Core memory blocks over HTTP (``/v1/blocks``): routes, bodies, the projection reader, the checked writer,
and the two core memory tools' handlers (``tool_handlers``)."""
