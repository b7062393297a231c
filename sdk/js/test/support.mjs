// What every test module needs: the live API's address and credentials from the environment (the Python
// driver tests/e2e/test_sdk_js.py starts a system and sets them), fresh user ids, and a recording fetch.
import { randomUUID } from "node:crypto";
import { Memstream } from "../dist/index.js";

/** @param {string} name */
export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through tests/e2e/test_sdk_js.py, or export it`);
  return value;
}

export const BASE_URL = required("MEMSTREAM_URL");
export const API_KEY = required("MEMSTREAM_API_KEY");

/** A user id no other test uses. */
export function newUser(prefix = "js-") {
  return `${prefix}${randomUUID().slice(0, 12)}`;
}

/**
 * A fetch that passes every request to the real one and records what was sent and what came back.
 * @param {(request: RecordedRequest, real: typeof fetch) => Promise<Response> | undefined} [intercept]
 *   answers instead of the plain pass-through when it returns a promise (a test's simulated fault)
 */
export function recordingFetch(intercept) {
  /** @type {RecordedRequest[]} */
  const requests = [];
  /** @type {typeof fetch} */
  const fetchImpl = async (input, init) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    /** @type {RecordedRequest} */
    const request = { method: init?.method ?? "GET", url, headers, body: init?.body, at: Date.now() };
    requests.push(request);
    const answered = intercept?.(request, globalThis.fetch);
    const response = await (answered ?? globalThis.fetch(input, init));
    request.status = response.status;
    request.responseHeaders = response.headers;
    return response;
  };
  return { fetch: fetchImpl, requests };
}

/**
 * @typedef {{ method: string, url: URL, headers: Headers, body: unknown, at: number, status?: number,
 *   responseHeaders?: Headers }} RecordedRequest
 */

/** @param {import("../dist/index.js").MemstreamOptions} [options] */
export function client(options = {}) {
  return new Memstream({ baseUrl: BASE_URL, apiKey: API_KEY, ...options });
}

/**
 * Poll ``probe`` until it returns something truthy; fails naming ``what`` after ``timeoutMs``.
 * @template T
 * @param {() => Promise<T>} probe
 * @param {string} what
 * @returns {Promise<T>}
 */
export async function eventually(probe, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
