export { Memstream, DEFAULT_BASE_URL } from "./client.js";
export type * from "./client.js";
export * from "./errors.js";
export { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
export type { CallOptions } from "./transport.js";
export type { BareToolCall, OpenAIToolCall, ToolCall } from "./tool-calls.js";
export type * from "./types.js";
export type { components, operations, paths } from "./generated/api.js";
