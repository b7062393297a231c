"""memstream-client: the Python client of the memstream API (long-term memory for AI agents).

from memstream_client import Memstream

client = Memstream()  # MEMSTREAM_API_KEY, MEMSTREAM_URL (default http://127.0.0.1:18080)
client.add(messages=[{"role": "user", "content": "I prefer Python"}], user_id="user_123")
results = client.search(query="coding preferences", user_id="user_123", limit=5)
context = client.get_context(query="help with coding", user_id="user_123", max_tokens=500)
"""

from memstream_client.async_client import AsyncMemstream
from memstream_client.client import Memstream
from memstream_client.errors import (
    APIError,
    AuthenticationError,
    ClientError,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    MemstreamError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from memstream_client.models import (
    Accepted,
    AddResult,
    Block,
    BlockHistory,
    BlockVersion,
    BlockWriteAccepted,
    Context,
    ConversationLog,
    ConversationPage,
    ConversationTurn,
    ErasureAccepted,
    HistoryEntry,
    LoggedTurn,
    Memory,
    MemoryHistory,
    MemoryPage,
    SearchHit,
    SearchResults,
    Session,
    SessionPage,
    SummaryOriginal,
    TimeRange,
    TimeScope,
    ToolResult,
)
from memstream_client.version import __version__

__all__ = [
    "APIError",
    "Accepted",
    "AddResult",
    "AsyncMemstream",
    "AuthenticationError",
    "Block",
    "BlockHistory",
    "BlockVersion",
    "BlockWriteAccepted",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Context",
    "ConversationLog",
    "ConversationPage",
    "ConversationTurn",
    "ErasureAccepted",
    "HistoryEntry",
    "InvalidRequest",
    "LoggedTurn",
    "Memory",
    "MemoryHistory",
    "MemoryPage",
    "Memstream",
    "MemstreamError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "SearchHit",
    "SearchResults",
    "ServerError",
    "Session",
    "SessionPage",
    "SummaryOriginal",
    "TimeRange",
    "TimeScope",
    "ToolResult",
    "__version__",
]
