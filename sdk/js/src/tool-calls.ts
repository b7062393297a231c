/**
 * Reading a model's tool call without depending on any LLM client library. Accepted: the OpenAI chat format
 * (``{id, type: "function", function: {name, arguments}}``, as the ``openai`` package's objects also are) or
 * its bare ``{name, arguments}`` part. ``arguments`` is kept as the model wrote it, usually a JSON string: the
 * API parses it, so a malformed one gets the API's message naming the problem, which the model can act on.
 */

export interface OpenAIToolCall {
  id?: string;
  type?: string; // "function"
  function: { name: string; arguments?: string | Record<string, unknown> | null };
}
export interface BareToolCall {
  name: string;
  arguments?: string | Record<string, unknown> | null;
}
export type ToolCall = OpenAIToolCall | BareToolCall;

export function toolCallParts(toolCall: ToolCall): { name: string; arguments: string | Record<string, unknown> } {
  const fn: unknown = "function" in toolCall ? toolCall.function : toolCall;
  if (fn === null || typeof fn !== "object") throw new TypeError("a tool call's 'function' must be an object");
  const { name, arguments: args } = fn as { name?: unknown; arguments?: unknown };
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`not a tool call (no function name): ${JSON.stringify(toolCall)}`);
  }
  if (args === undefined || args === null) return { name, arguments: {} };
  if (typeof args === "string") return { name, arguments: args };
  if (typeof args === "object" && !Array.isArray(args)) return { name, arguments: args as Record<string, unknown> };
  throw new TypeError(`a tool call's arguments must be a JSON string or an object, not ${typeof args}`);
}
