// The pieces that decide without the network: the token book, reading a tool call, an answer's error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBook } from "../dist/consistency.js";
import {
  AuthenticationError,
  ConflictError,
  InvalidRequestError,
  MemstreamError,
  RateLimitError,
  ServerError,
  ServiceUnavailableError,
  errorFromResponse,
} from "../dist/errors.js";
import { isRetryableStatus } from "../dist/retry.js";
import { toolCallParts } from "../dist/tool-calls.js";

describe("the token book", () => {
  it("keeps the latest token per user and topic, and forgets what a read carried", () => {
    const book = new TokenBook();
    const alice = { user_id: "alice" };
    book.wrote(alice, "turns", "t1");
    book.wrote(alice, "turns", "t2");
    book.wrote(alice, "commands", "c1");
    book.wrote({ user_id: "bob" }, "turns", "b1");
    book.wrote({ user_id: "alice", app_id: "other" }, "turns", "o1");
    assert.deepEqual(book.tokensFor(alice), ["t2", "c1"]);
    book.seen(alice, ["t2"]);
    assert.deepEqual(book.tokensFor(alice), ["c1"]);
    book.wrote(alice, "commands", "c2"); // a newer write while c1 was being read stays pending
    book.seen(alice, ["c1"]);
    assert.deepEqual(book.tokensFor(alice), ["c2"]);
    assert.deepEqual(book.tokensFor({ user_id: "bob" }), ["b1"]);
  });
});

describe("a tool call", () => {
  it("is read from the OpenAI shape or its bare function, its arguments as the model wrote them", () => {
    const call = { id: "call_1", type: "function", function: { name: "archival_memory_search", arguments: '{"query":"x"}' } };
    assert.deepEqual(toolCallParts(call), { name: "archival_memory_search", arguments: '{"query":"x"}' });
    assert.deepEqual(toolCallParts({ name: "conversation_search", arguments: { query: "x" } }), {
      name: "conversation_search",
      arguments: { query: "x" },
    });
    assert.deepEqual(toolCallParts({ function: { name: "tools", arguments: null } }), { name: "tools", arguments: {} });
  });

  it("is refused when it is not one", () => {
    assert.throws(() => toolCallParts(/** @type {any} */ ({ function: { arguments: "{}" } })), /no function name/);
    assert.throws(() => toolCallParts(/** @type {any} */ ({ name: "x", arguments: [1] })), /JSON string or an object/);
  });
});

describe("an answer's error", () => {
  const headers = new Headers({ "retry-after": "7" });

  it("is the family of its status, with the API's message and the fields it names", () => {
    const body = { status_code: 400, detail: "Validation failed for POST /v1/memories", extra: [{ key: "data", message: "Expected `bool`" }] };
    const invalid = errorFromResponse(400, body, new Headers());
    assert.ok(invalid instanceof InvalidRequestError && invalid instanceof MemstreamError);
    assert.equal(invalid.message, "Validation failed for POST /v1/memories (data: Expected `bool`)");
    assert.equal(invalid.detail, "Validation failed for POST /v1/memories");
    /** @type {Array<[number, Function]>} */
    const families = [[401, AuthenticationError], [409, ConflictError], [413, InvalidRequestError], [422, InvalidRequestError],
      [429, RateLimitError], [500, ServerError], [503, ServiceUnavailableError]];
    for (const [status, family] of families) assert.ok(errorFromResponse(status, { detail: "x" }, headers) instanceof family, String(status));
    const limited = /** @type {RateLimitError} */ (errorFromResponse(429, { detail: "rate limit exceeded" }, headers));
    assert.equal(limited.retryAfterSeconds, 7);
  });

  it("says something even when the body is not the API's", () => {
    assert.equal(errorFromResponse(502, "<html>Bad Gateway</html>", new Headers()).message, "<html>Bad Gateway</html>");
    assert.equal(errorFromResponse(502, undefined, new Headers(), "Bad Gateway").message, "Bad Gateway");
    assert.equal(errorFromResponse(500, {}, new Headers()).message, "HTTP 500");
  });

  it("is retried for 429 and 503, and for a 409 that asks to wait only when the request had an Idempotency-Key", () => {
    assert.ok(isRetryableStatus(429, new Headers(), false));
    assert.ok(isRetryableStatus(503, new Headers(), false));
    assert.ok(isRetryableStatus(409, headers, true));
    assert.ok(!isRetryableStatus(409, headers, false));
    assert.ok(!isRetryableStatus(409, new Headers(), true)); // a conflict with what is stored: no wait helps
    assert.ok(!isRetryableStatus(500, headers, true));
  });
});
