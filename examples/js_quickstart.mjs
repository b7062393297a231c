// The TypeScript SDK in a few calls, against the API `make run` starts.
//
//   make run                                   # prints the API's address and an admin key
//   (cd sdk/js && npm ci && npm run build)     # once
//   export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
//   node examples/js_quickstart.mjs
//
// In your own project: `npm install @memstream/client` and import from "@memstream/client".
import { Memstream, NotFoundError } from "../sdk/js/dist/index.js";

// MEMSTREAM_API_KEY and MEMSTREAM_URL (default http://127.0.0.1:18080) from the environment. readYourWrites:
// each read waits until this client's earlier writes of the same user are applied.
const client = new Memstream({ readYourWrites: true });
const user_id = process.argv[2] ?? "user_123";

await client.add([{ role: "user", content: "I prefer Python" }], { user_id });
const results = await client.search("coding preferences", { user_id, limit: 5 });
console.log("search:", results.results.map((hit) => `${hit.memory} (${hit.score.toFixed(3)})`));
const context = await client.getContext("help with coding", { user_id, max_tokens: 500 });
console.log(`context (${context.token_count} tokens):\n${context.context}`);

// A memory stored as it is (no extraction), corrected, then its history.
await client.add("My favourite editor is Helix.", { user_id, infer: false });
const latest = (await client.getAll({ user_id, limit: 1 })).results[0];
if (latest) {
  await client.update(latest.id, { user_id, text: "My favourite editor is Helix, with the default keymap." });
  const history = await client.history(latest.id, { user_id });
  console.log("history:", history.entries.map((entry) => `${entry.event_type}: ${entry.text}`));
}

// Core memory: the blocks an agent keeps in its context and edits with its tools.
await client.appendBlock("human", "Prefers Python; edits with Helix.", { user_id });
const blocks = await client.listBlocks({ user_id });
console.log("blocks:", blocks.blocks.map((block) => `${block.label} (v${block.version}): ${JSON.stringify(block.value)}`));

// Errors carry the status and the API's message.
try {
  await client.get("no-such-memory", { user_id });
} catch (error) {
  if (!(error instanceof NotFoundError)) throw error;
  console.log(`404 as expected: ${error.message}`);
}
