"""The memory tools an agent calls (MemGPT's, with Letta's names): their OpenAI function-tool schemas as data
(``definitions``), a registry of name → handler and the scope it needs (``registry``), the handlers
(``archival``, ``recall``; the core-memory ones come from ``api.blocks``) and the routes ``GET /v1/tools`` and
``POST /v1/tools/{name}`` (``routes``)."""
