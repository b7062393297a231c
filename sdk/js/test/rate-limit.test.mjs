// A 429 is honoured: the client waits what Retry-After asks, then the call succeeds; with no retries left it
// is a RateLimitError carrying the API's message and the wait. Its own module: the wait (up to a minute, the
// rate limiter's windows are the clock's minutes) runs beside the other modules.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RateLimitError } from "../dist/index.js";
import { client, newUser, recordingFetch, required } from "./support.mjs";

// A key of the test's app whose own limit is LIMITED_KEY_RATE requests a minute.
const LIMITED_KEY = required("MEMSTREAM_TEST_LIMITED_KEY");
const LIMIT = Number(required("MEMSTREAM_TEST_LIMITED_KEY_RATE"));

it("waits for Retry-After on a 429, then succeeds; without retries it is a RateLimitError", async () => {
  const user_id = newUser();
  const impatient = client({ apiKey: LIMITED_KEY, retry: { maxRetries: 0 } });
  /** Requests until the first 429; the limit's windows are the clock's minutes. */
  async function spendTheWindow() {
    for (let i = 0; i <= LIMIT; i += 1) {
      const refused = await impatient.getAll({ user_id }).then(() => undefined, (e) => e);
      if (refused !== undefined) return refused;
    }
    return undefined;
  }
  let refused = await spendTheWindow();
  if (refused instanceof RateLimitError && (refused.retryAfterSeconds ?? 0) < 5) {
    // Too close to the minute's end: the patient client below could start in a fresh window. Spend the next one.
    await new Promise((resolve) => setTimeout(resolve, ((refused.retryAfterSeconds ?? 0) + 1) * 1000));
    refused = await spendTheWindow();
  }
  assert.ok(refused instanceof RateLimitError, `a 429 within ${LIMIT + 1} requests: ${refused}`);
  assert.equal(refused.status, 429);
  assert.match(refused.message, /rate limit/i);
  const asked = refused.retryAfterSeconds;
  assert.ok(asked !== undefined && asked >= 0 && asked <= 60, `Retry-After: ${asked}`);

  const recorder = recordingFetch();
  const patient = client({ apiKey: LIMITED_KEY, fetch: recorder.fetch, retry: { maxElapsedMs: 90_000 } });
  const listed = await patient.getAll({ user_id });
  assert.equal(listed.total, 0);
  const [first, ...rest] = recorder.requests;
  const last = rest.at(-1);
  assert.equal(first.status, 429, "the window was still spent when the patient client asked");
  assert.equal(last?.status, 200);
  const waitedMs = (last?.at ?? 0) - first.at;
  const askedMs = Number(first.responseHeaders?.get("retry-after")) * 1000;
  assert.ok(waitedMs >= askedMs, `waited ${waitedMs} ms, Retry-After asked ${askedMs} ms`);
  assert.equal(rest.length, 1, "one retry, after the wait the API asked for");
});
