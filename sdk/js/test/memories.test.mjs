// Every memory method against the live API, read-your-writes, and errors carrying the API's message.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AuthenticationError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
} from "../dist/index.js";
import { client, newUser, recordingFetch } from "./support.mjs";

describe("memories", () => {
  it("runs the seed's three calls: add, search, getContext", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    const added = await memstream.add([{ role: "user", content: "I prefer Python" }], { user_id });
    assert.equal(added.status, "accepted");
    assert.match(added.consistency_token, /^mst1\./);
    const results = await memstream.search("coding preferences", { user_id, limit: 5 });
    assert.ok(results.results.some((hit) => hit.memory.includes("Python")), JSON.stringify(results.results));
    const context = await memstream.getContext("help with coding", { user_id, max_tokens: 500 });
    assert.match(context.context, /Python/);
    assert.ok(context.token_count <= 500 && context.memory_ids.length >= 1);
  });

  it("gets, lists, updates, shows the history of and deletes one memory", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    await memstream.add("I keep bees on the roof.", { user_id, infer: false });
    const listed = await memstream.getAll({ user_id });
    assert.equal(listed.total, 1);
    const [memory] = listed.results;
    assert.equal(memory.memory, "I keep bees on the roof.");
    assert.equal((await memstream.get(memory.id, { user_id })).id, memory.id);

    const updated = await memstream.update(memory.id, { user_id, text: "I keep two hives of bees on the roof." });
    assert.equal(updated.status, "accepted");
    assert.equal((await memstream.get(memory.id, { user_id })).memory, "I keep two hives of bees on the roof.");
    const history = await memstream.history(memory.id, { user_id });
    const texts = history.entries.map((entry) => entry.text);
    assert.equal(history.memory_id, memory.id);
    assert.deepEqual([texts[0], texts.at(-1)], ["I keep bees on the roof.", "I keep two hives of bees on the roof."]);
    assert.ok(history.entries.some((entry) => entry.event_type === "MemoryUpdated"));

    await memstream.delete(memory.id, { user_id });
    assert.equal((await memstream.getAll({ user_id })).total, 0);
    await assert.rejects(memstream.get(memory.id, { user_id }), NotFoundError);
  });

  it("pages and filters getAll with the API's query parameters", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    await memstream.add("I run on Mondays.", { user_id, infer: false });
    await memstream.add("I swim on Fridays.", { user_id, infer: false });
    const page = await memstream.getAll({ user_id, limit: 1, offset: 1, state: ["active"] });
    assert.deepEqual([page.total, page.limit, page.offset, page.results.length], [2, 1, 1, 1]);
    assert.equal(page.results[0].memory, "I run on Mondays."); // newest first: the second page is the first added
  });

  it("erases a whole user with deleteAll, after the user's pending writes", async () => {
    const recorder = recordingFetch();
    const memstream = client({ fetch: recorder.fetch, readYourWrites: true });
    const user_id = newUser();
    const added = await memstream.add("I like green tea.", { user_id, infer: false });
    const erased = await memstream.deleteAll({ user_id });
    const [waited] = recorder.requests.filter((r) => r.method === "GET");
    assert.equal(waited?.url.searchParams.get("consistency_token"), added.consistency_token, "waited for the add");
    assert.ok(erased.erasure_id);
    assert.equal((await memstream.getAll({ user_id })).total, 0);
  });

  it("waits for a write with waitFor, then reads it without a token", async () => {
    const memstream = client();
    const user_id = newUser();
    const { consistency_token } = await memstream.add("My cat is called Miso.", { user_id, infer: false });
    await memstream.waitFor(consistency_token, { user_id });
    const listed = await memstream.getAll({ user_id });
    assert.deepEqual(listed.results.map((memory) => memory.memory), ["My cat is called Miso."]);
  });
});

describe("read your writes", () => {
  it("carries the user's last write's token on the next read, once, when the call asks", async () => {
    const recorder = recordingFetch();
    const memstream = client({ fetch: recorder.fetch });
    const user_id = newUser();
    const other = newUser();
    const { consistency_token } = await memstream.add("I live in Lyon.", { user_id, infer: false });

    await memstream.getAll({ user_id: other, readYourWrites: true }); // another user's read waits for nothing
    const listed = await memstream.getAll({ user_id, readYourWrites: true });
    assert.deepEqual(listed.results.map((memory) => memory.memory), ["I live in Lyon."]);
    await memstream.getAll({ user_id, readYourWrites: true }); // seen: nothing left to wait for

    const carried = recorder.requests.filter((r) => r.method === "GET").map((r) => r.url.searchParams.get("consistency_token"));
    assert.deepEqual(carried, [null, consistency_token, null]);
  });

  it("is on for every read of a client made with readYourWrites, unless a call says no", async () => {
    const recorder = recordingFetch();
    const memstream = client({ fetch: recorder.fetch, readYourWrites: true });
    const user_id = newUser();
    const first = await memstream.add("I play the cello.", { user_id, infer: false });
    await memstream.search("cello", { user_id, readYourWrites: false });
    const found = await memstream.search("cello", { user_id });
    assert.equal(found.results[0]?.memory, "I play the cello.");
    const bodies = recorder.requests.filter((r) => r.url.pathname === "/v1/memories/search").map((r) => JSON.parse(String(r.body)));
    assert.deepEqual(bodies.map((body) => body.consistency_token), [undefined, first.consistency_token]);
  });

  it("waits for both topics when a command follows a turn", async () => {
    const recorder = recordingFetch();
    const memstream = client({ fetch: recorder.fetch, readYourWrites: true });
    const user_id = newUser();
    const added = await memstream.add("I drive a blue van.", { user_id, infer: false });
    const listed = await memstream.getAll({ user_id });
    const memoryId = listed.results[0].id;
    const grown = await memstream.add("I grow tomatoes.", { user_id, infer: false }); // turns topic, pending
    const updated = await memstream.update(memoryId, { user_id, pinned: true }); // commands topic, pending
    const pinnedAndBoth = await memstream.getAll({ user_id });
    assert.equal(pinnedAndBoth.total, 2);
    const reads = recorder.requests.filter((r) => r.method === "GET").slice(1);
    const tokens = reads.map((r) => r.url.searchParams.get("consistency_token"));
    assert.equal(tokens.length, 2, "one wait for the turn, then the read carrying the command's token");
    assert.notEqual(grown.consistency_token, added.consistency_token);
    assert.equal(tokens[0], grown.consistency_token);
    assert.equal(tokens[1], updated.consistency_token);
    assert.equal(reads[0].url.searchParams.get("limit"), "1"); // waitFor's cheap read
  });
});

describe("errors carry the status and the API's message", () => {
  it("names the field of a body that does not decode", async () => {
    const user_id = newUser();
    const error = await client().add("x", { user_id, infer: /** @type {any} */ ("yes") }).catch((e) => e);
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.status, 400);
    assert.match(error.message, /Validation failed for POST \/v1\/memories.*\$\.infer/);
  });

  it("says what is wrong with a search", async () => {
    const error = await client().search(" ", { user_id: newUser() }).catch((e) => e);
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.status, 400);
    assert.equal(error.message, "query is empty");
  });

  it("names the missing memory", async () => {
    const user_id = newUser();
    const error = await client().get("no-such-memory", { user_id }).catch((e) => e);
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.message, `memory no-such-memory not found for user ${user_id}`);
  });

  it("says why a credential is refused (401) and what it may not do (403)", async () => {
    const refused = await client({ apiKey: "ms_bad" }).getAll({ user_id: newUser() }).catch((e) => e);
    assert.ok(refused instanceof AuthenticationError);
    assert.equal(refused.status, 401);
    assert.match(refused.message, /the API key is malformed/);
    const denied = await client().getAll({ user_id: newUser(), app_id: "someone-else" }).catch((e) => e);
    assert.ok(denied instanceof PermissionDeniedError);
    assert.equal(denied.status, 403);
    assert.match(denied.message, /app_id 'someone-else' is not this credential's app/);
  });
});
