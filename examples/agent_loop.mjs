// A small agent with MemGPT-style memory: the model sees its core memory blocks in the system prompt and edits
// them, stores and searches archival memory, and searches past conversations, through memstream's five tools.
// Any OpenAI-compatible chat endpoint works (plain fetch to /chat/completions, no LLM package needed):
//
//   export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)      # `make run`'s API
//   export MEMSTREAM_LLM_BASE_URL=http://localhost:11434/v1              # e.g. Ollama, vLLM, OpenAI
//   export MEMSTREAM_LLM_MODEL=llama3.1  MEMSTREAM_LLM_API_KEY=...        # key if the endpoint wants one
//   (cd sdk/js && npm ci && npm run build)
//   node examples/agent_loop.mjs [user_id]                               # then chat; Ctrl-D ends
import { createInterface } from "node:readline/promises";
import { Memstream } from "../sdk/js/dist/index.js";

const LLM_BASE_URL = (process.env.MEMSTREAM_LLM_BASE_URL ?? "http://localhost:11434/v1").replace(/\/+$/, "");
const LLM_MODEL = process.env.MEMSTREAM_LLM_MODEL ?? "llama3.1";
const LLM_API_KEY = process.env.MEMSTREAM_LLM_API_KEY;
// A model that keeps calling tools is stopped after this many rounds of one user turn.
const MAX_TOOL_ROUNDS = 8;

const memory = new Memstream({ readYourWrites: true });
const user_id = process.argv[2] ?? "user_123";
const tools = await memory.tools();

/** The system prompt: who the agent is and what it knows, from the core memory blocks, read fresh each turn
 * (the agent may have edited them in the last one). */
async function systemPrompt() {
  const { blocks } = await memory.listBlocks({ user_id });
  const core = blocks.map((block) => `<${block.label}>\n${block.value}\n</${block.label}>`).join("\n");
  return [
    "You are a helpful assistant with long-term memory.",
    "Your core memory is below; keep it current with core_memory_append and core_memory_replace",
    "(label 'human' for facts about the user, 'persona' for yourself). Store other lasting facts with",
    "archival_memory_insert, look them up with archival_memory_search, and find earlier conversations",
    "with conversation_search.",
    `<core_memory>\n${core}\n</core_memory>`,
  ].join("\n");
}

/** @param {object[]} messages */
async function complete(messages) {
  const response = await fetch(`${LLM_BASE_URL}/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(LLM_API_KEY ? { Authorization: `Bearer ${LLM_API_KEY}` } : {}) },
    body: JSON.stringify({ model: LLM_MODEL, messages, tools }),
  });
  if (!response.ok) throw new Error(`${LLM_BASE_URL}/chat/completions: ${response.status} ${await response.text()}`);
  const body = await response.json();
  return body.choices[0].message;
}

/** One user turn: ask the model, run the tool calls it makes, hand back their results, until it answers. */
async function turn(/** @type {object[]} */ history, /** @type {string} */ text) {
  history.push({ role: "user", content: text });
  for (let round = 0; round < MAX_TOOL_ROUNDS; round += 1) {
    const message = await complete([{ role: "system", content: await systemPrompt() }, ...history]);
    history.push(message);
    if (!message.tool_calls?.length) return message.content ?? "";
    for (const call of message.tool_calls) {
      const result = await memory.executeToolCall(call, { user_id }); // "Error: ..." when the model got it wrong
      console.log(`  [${call.function.name}] ${result.split("\n")[0]}`);
      history.push({ role: "tool", tool_call_id: call.id, content: result });
    }
  }
  return "(stopped: too many tool calls in one turn)";
}

const terminal = createInterface({ input: process.stdin, output: process.stdout });
/** @type {object[]} */
const history = [];
try {
  for (;;) {
    const text = await terminal.question("you> ").catch(() => null);
    if (text === null) break;
    if (!text.trim()) continue;
    const answer = await turn(history, text);
    console.log(`agent> ${answer}`);
    // The exchange is memory too: facts are extracted from it, and conversation_search finds it later.
    await memory.add([{ role: "user", content: text }, { role: "assistant", content: answer }], { user_id });
  }
} finally {
  terminal.close();
}
