"""Reading a model's tool call, whichever shape it comes in, without depending on any LLM client library.

Accepted: the OpenAI chat format as a dict (``{"id", "type": "function", "function": {"name", "arguments"}}``),
the bare ``{"name", "arguments"}`` part, or any object with ``.function.name`` and ``.function.arguments`` (the
``openai`` package's ``ChatCompletionMessageToolCall``) or ``.name`` and ``.arguments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tool_call_parts(tool_call: Any) -> tuple[str, Mapping[str, Any] | str]:
    """The tool's name and its arguments as the model gave them (a JSON string, usually: the API parses it, so a
    malformed one gets the API's message naming the problem, which the model can act on)."""
    if isinstance(tool_call, Mapping):
        function = tool_call.get("function", tool_call)
        if not isinstance(function, Mapping):
            raise TypeError(f"a tool call's 'function' must be an object, not {type(function).__name__}")
        name, arguments = function.get("name"), function.get("arguments")
    else:
        function = getattr(tool_call, "function", tool_call)
        name, arguments = getattr(function, "name", None), getattr(function, "arguments", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"not a tool call (no function name): {tool_call!r}")
    if arguments is None:
        return name, {}
    if isinstance(arguments, str | Mapping):
        return name, arguments
    raise TypeError(f"a tool call's arguments must be a JSON string or an object, not {type(arguments).__name__}")
