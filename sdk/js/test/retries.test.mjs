// Retries: a write whose answer was lost is retried with the same Idempotency-Key and done once; no answer at
// all ends in a MemstreamConnectionError after a bounded number of attempts; the backoff's arithmetic.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { MemstreamConnectionError } from "../dist/index.js";
import { nextDelayMs, retryAfterMs } from "../dist/retry.js";
import { client, newUser, recordingFetch } from "./support.mjs";

describe("a retried write", () => {
  it("is done once when its first answer was lost on the way back", async () => {
    /** @type {{ event_ids: string[] } | undefined} */
    let firstAnswer;
    const recorder = recordingFetch((request, real) => {
      if (request.method !== "POST" || request.url.pathname !== "/v1/memories" || firstAnswer !== undefined) return;
      // A simulated network fault: the request reaches the API, which does the work and answers, and the
      // answer is lost (a dropped connection), so the client sees an error instead of the response.
      return real(request.url, { method: request.method, headers: request.headers, body: /** @type {string} */ (request.body) })
        .then(async (response) => {
          firstAnswer = await response.json();
          assert.equal(response.status, 202);
          throw new TypeError("simulated network fault: the connection dropped before the answer arrived");
        });
    });
    const memstream = client({ fetch: recorder.fetch, readYourWrites: true, retry: { initialDelayMs: 50 } });
    const user_id = newUser();

    const added = await memstream.add("I am allergic to peanuts.", { user_id, infer: false });

    const posts = recorder.requests.filter((r) => r.method === "POST");
    assert.equal(posts.length, 2, "the lost answer is retried once");
    const keys = posts.map((r) => r.headers.get("idempotency-key"));
    assert.ok(keys[0] && keys[0] === keys[1], `one Idempotency-Key for both attempts: ${keys}`);
    assert.equal(posts[1].responseHeaders?.get("idempotent-replayed"), "true");
    assert.deepEqual(added.event_ids, firstAnswer?.event_ids, "the retry is answered with the first answer");
    const listed = await memstream.getAll({ user_id });
    assert.deepEqual(listed.results.map((m) => m.memory), ["I am allergic to peanuts."]);
  });

  it("gets a new Idempotency-Key per call, or the caller's", async () => {
    const recorder = recordingFetch();
    const memstream = client({ fetch: recorder.fetch });
    const user_id = newUser();
    await memstream.add("I read at night.", { user_id, infer: false });
    const mine = `my-key-${user_id}`;
    await memstream.add("I read at night.", { user_id, infer: false, idempotencyKey: mine });
    await memstream.getAll({ user_id });
    const keys = recorder.requests.map((r) => r.headers.get("idempotency-key"));
    assert.match(String(keys[0]), /^[0-9a-f-]{36}$/);
    assert.deepEqual(keys.slice(1), [mine, null]); // reads carry none
  });
});

describe("no answer at all", () => {
  it("is retried a bounded number of times, then a MemstreamConnectionError", async () => {
    const recorder = recordingFetch();
    const baseUrl = await closedAddress();
    const memstream = client({ baseUrl, fetch: recorder.fetch, retry: { maxRetries: 2, initialDelayMs: 10 } });
    const error = await memstream.getAll({ user_id: newUser() }).catch((e) => e);
    assert.ok(error instanceof MemstreamConnectionError, String(error));
    assert.equal(error.status, undefined);
    assert.ok(error.message.startsWith(`GET ${baseUrl}/v1/memories`), error.message);
    assert.match(error.message, /ECONNREFUSED/);
    assert.equal(recorder.requests.length, 3);
  });

  it("stops when the caller aborts, without retrying", async () => {
    const controller = new AbortController();
    const memstream = client({ baseUrl: await closedAddress(), retry: { maxRetries: 100, initialDelayMs: 1000 } });
    const pending = memstream.getAll({ user_id: newUser(), signal: controller.signal });
    setTimeout(() => controller.abort(new Error("the caller gave up")), 100);
    await assert.rejects(pending, /the caller gave up/);
  });
});

/** The address of a loopback port nobody listens on any more: a connection there is refused at once. */
async function closedAddress() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}

describe("backoff", () => {
  const policy = { maxRetries: 3, initialDelayMs: 100, maxDelayMs: 250, maxElapsedMs: 1_000 };

  it("waits a random time below a ceiling that doubles up to the maximum (full jitter)", () => {
    assert.equal(nextDelayMs(policy, 0, 0, undefined, () => 0.999), 99);
    assert.equal(nextDelayMs(policy, 1, 0, undefined, () => 0.999), 199);
    assert.equal(nextDelayMs(policy, 2, 0, undefined, () => 0.999), 249);
    assert.equal(nextDelayMs(policy, 2, 0, undefined, () => 0), 0);
  });

  it("waits what Retry-After asks, and gives up past the retries or the time bound", () => {
    assert.equal(nextDelayMs(policy, 0, 0, 700), 700);
    assert.equal(nextDelayMs(policy, 0, 400, 700), undefined); // would end after 1,000 ms
    assert.equal(nextDelayMs(policy, 3, 0, undefined), undefined);
    assert.equal(retryAfterMs("3"), 3000);
    assert.equal(retryAfterMs("Fri, 04 Dec 2026 10:00:05 GMT", Date.parse("Fri, 04 Dec 2026 10:00:00 GMT")), 5000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs("soon"), undefined);
  });
});
