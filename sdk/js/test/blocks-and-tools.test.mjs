// Core memory blocks, the memory tools and conversation search through the SDK against the live API; each tool
// also through executeToolCall with the tool call a model would send.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConflictError, InvalidRequestError, NotFoundError, PermissionDeniedError } from "../dist/index.js";
import { client, newUser, recordingFetch } from "./support.mjs";

/**
 * A tool call as an OpenAI-compatible model emits it: the arguments are JSON text.
 * @param {string} name
 * @param {object | string} args
 */
function toolCall(name, args, id = `call_${name}`) {
  return { id, type: /** @type {const} */ ("function"), function: { name, arguments: typeof args === "string" ? args : JSON.stringify(args) } };
}

describe("core memory blocks", () => {
  it("lists persona and human, empty, before anything is written", async () => {
    const { blocks } = await client().listBlocks({ user_id: newUser() });
    assert.deepEqual(
      blocks.map((b) => [b.label, b.value, b.limit, b.version, b.updated_at]),
      [["persona", "", 2000, 0, null], ["human", "", 2000, 0, null]],
    );
  });

  it("creates, appends, replaces, reads, shows the history of and deletes a block", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    const created = await memstream.createBlock("notes", { user_id, value: "likes tea", limit: 40 });
    assert.deepEqual([created.block.label, created.block.value, created.block.limit], ["notes", "likes tea", 40]);
    assert.equal((await memstream.getBlock("notes", { user_id })).version, 1);

    // Back to back: with read-your-writes each edit waits for the one before, so the API checks it against
    // the block as that one left it (and its answer shows the block as it will read).
    const appended = await memstream.appendBlock("notes", "plays chess", { user_id });
    assert.equal(appended.block.value, "likes tea\nplays chess");
    const replaced = await memstream.replaceBlock("notes", "tea", "green tea", { user_id });
    assert.equal(replaced.block.value, "likes green tea\nplays chess");
    const read = await memstream.getBlock("notes", { user_id });
    assert.deepEqual([read.value, read.version], ["likes green tea\nplays chess", 3]);
    const listed = await memstream.listBlocks({ user_id });
    assert.deepEqual(listed.blocks.map((b) => b.label), ["persona", "human", "notes"]);

    await memstream.deleteBlock("notes", { user_id });
    await assert.rejects(memstream.getBlock("notes", { user_id }), NotFoundError);
    const history = await memstream.blockHistory("notes", { user_id });
    assert.deepEqual(
      history.entries.map((e) => [e.version, e.change, e.value]),
      [
        [1, "created", "likes tea"],
        [2, "appended", "likes tea\nplays chess"],
        [3, "replaced", "likes green tea\nplays chess"],
        [4, "deleted", ""],
      ],
    );
  });

  it("refuses with the API's message: an existing label, missing text, a limit, an unknown block", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    await memstream.createBlock("notes", { user_id, value: "likes tea", limit: 40 });

    const exists = await memstream.createBlock("notes", { user_id }).catch((e) => e);
    assert.ok(exists instanceof ConflictError && exists.status === 409, String(exists));
    assert.match(exists.message, /notes/);
    const missing = await memstream.replaceBlock("notes", "coffee", "tea", { user_id }).catch((e) => e);
    assert.ok(missing instanceof ConflictError, String(missing));
    assert.equal(missing.message, "'coffee' is not in core memory block 'notes'");
    const tooLong = await memstream.appendBlock("notes", "x".repeat(50), { user_id }).catch((e) => e);
    assert.ok(tooLong instanceof InvalidRequestError && tooLong.status === 422, String(tooLong));
    assert.match(tooLong.message, /50 characters.*9 characters now.*limit of 40 characters/);
    const unknown = await memstream.appendBlock("nothing_here", "x", { user_id }).catch((e) => e);
    assert.ok(unknown instanceof NotFoundError, String(unknown));
    assert.match(unknown.message, /nothing_here/);
  });

  it("edits persona and human with Letta's names, and puts them in the context", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    await memstream.coreMemoryAppend("human", "Name: Ada", { user_id });
    const replaced = await memstream.coreMemoryReplace("human", "Ada", "Ada Lovelace", { user_id });
    assert.equal(replaced.block.value, "Name: Ada Lovelace");
    const context = await memstream.getContext("who am I talking to?", { user_id, max_tokens: 200, include_blocks: true });
    assert.deepEqual(context.block_labels, ["human"]);
    assert.match(context.context, /<core_memory>[\s\S]*Name: Ada Lovelace[\s\S]*<\/core_memory>/);
  });
});

describe("memory tools", () => {
  it("lists the five tools as OpenAI function tools", async () => {
    const tools = await client().tools();
    assert.deepEqual(
      tools.map((tool) => tool.function.name),
      ["core_memory_append", "core_memory_replace", "archival_memory_insert", "archival_memory_search", "conversation_search"],
    );
    for (const tool of tools) {
      assert.equal(tool.type, "function");
      assert.equal(tool.function.parameters["type"], "object");
      assert.equal(tool.function.parameters["additionalProperties"], false);
    }
  });

  it("inserts into and searches archival memory, reading its own write", async () => {
    const recorder = recordingFetch();
    const memstream = client({ fetch: recorder.fetch, readYourWrites: true });
    const user_id = newUser();
    const inserted = await memstream.archivalMemoryInsert("Ada keeps a sourdough starter named Bubbles.", { user_id });
    assert.ok(inserted.consistency_token);
    const found = await memstream.archivalMemorySearch("sourdough starter", { user_id });
    assert.match(found.text, /Ada keeps a sourdough starter named Bubbles\./);
    const waited = recorder.requests.find((r) => r.url.searchParams.get("consistency_token") === inserted.consistency_token);
    assert.ok(waited, "the search waited for the insert (the tool route takes no token)");
    const second = await memstream.archivalMemorySearch("sourdough starter", { user_id, page: 1 });
    assert.doesNotMatch(second.text, /Bubbles/); // one memory: page 1 is empty
  });

  it("searches the conversation by text and date", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    await memstream.add([{ role: "user", content: "Let us plan the trip to Kyoto in April.", name: "Ada" }], { user_id, infer: false });
    const found = await memstream.conversationSearch("Kyoto trip", { user_id });
    assert.equal(found.total, 1);
    assert.deepEqual([found.results[0].role, found.results[0].text], ["user", "Let us plan the trip to Kyoto in April."]);
    const before = await memstream.conversationSearch("Kyoto trip", { user_id, end_date: "2000-01-01" });
    assert.equal(before.total, 0);
  });

  it("executes each tool call a model makes and returns the text for the model", async () => {
    const memstream = client({ readYourWrites: true });
    const user_id = newUser();
    const appended = await memstream.executeToolCall(toolCall("core_memory_append", { label: "human", content: "Name: Ada" }), { user_id });
    assert.match(appended, /Name: Ada$/);
    const replaced = await memstream.executeToolCall(
      toolCall("core_memory_replace", { label: "human", old: "Ada", new: "Ada Lovelace" }),
      { user_id },
    );
    assert.match(replaced, /Name: Ada Lovelace$/);
    assert.equal((await memstream.getBlock("human", { user_id })).value, "Name: Ada Lovelace");

    const saved = await memstream.executeToolCall(toolCall("archival_memory_insert", { content: "Ada's cat is called Miso." }), { user_id });
    assert.match(saved, /archival memory/i);
    const searched = await memstream.executeToolCall(toolCall("archival_memory_search", { query: "cat's name", page: 0 }), { user_id });
    assert.match(searched, /Ada's cat is called Miso\./);

    await memstream.add([{ role: "user", content: "I finally booked the ferry to Naoshima." }], { user_id, infer: false });
    await memstream.getAll({ user_id }); // read-your-writes: the turn is in the conversation log
    const recalled = await memstream.executeToolCall(
      toolCall("conversation_search", { query: "ferry Naoshima", start_date: "2026-01-01" }),
      { user_id },
    );
    assert.match(recalled, /I finally booked the ferry to Naoshima\./);
  });

  it("hands a refusal the model can correct back as Error text, and throws the others", async () => {
    const memstream = client();
    const user_id = newUser();
    const badType = await memstream.executeToolCall(toolCall("archival_memory_search", { query: 5 }), { user_id });
    assert.match(badType, /^Error: .*query/);
    const badJson = await memstream.executeToolCall(toolCall("archival_memory_search", "{query"), { user_id });
    assert.match(badJson, /^Error: .*not valid JSON/);
    const unknown = await memstream.executeToolCall(toolCall("recall_everything", {}), { user_id });
    assert.match(unknown, /^Error: no tool named 'recall_everything'/);
    const missing = await memstream.executeToolCall(toolCall("core_memory_replace", { label: "human", old: "Bob", new: "Rob" }), { user_id });
    assert.match(missing, /^Error: .*'Bob' is not in core memory block 'human'/);
    await assert.rejects(
      memstream.executeToolCall(toolCall("conversation_search", { query: "x" }), { user_id, app_id: "another-app" }),
      PermissionDeniedError,
    );
  });
});
