/**
 * ``Memstream``: the memstream API as methods, named as mem0's clients name them (``add``, ``search``, ``get``,
 * ``getAll``, ``update``, ``delete``, ``deleteAll``, ``history``) plus the context, core memory blocks and the
 * agent's memory tools (Letta's names). Request fields keep the API's names (``user_id``, ``top_k``...), typed by
 * the generated schema; each method's last argument also takes the call's own options (``CallOptions``).
 */
import { type Scope, type Topic, TokenBook } from "./consistency.js";
import { environmentVariable } from "./env.js";
import { MemstreamError } from "./errors.js";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
import { type ToolCall, toolCallParts } from "./tool-calls.js";
import { type CallOptions, type Method, type Query, Transport, segment } from "./transport.js";
import type {
  AddMemoriesRequest,
  AddMemoriesResponse,
  Block,
  BlockHistory,
  BlockHistoryQuery,
  BlockList,
  BlockScope,
  BlockWriteAccepted,
  CommandAccepted,
  ContextRequest,
  ContextResponse,
  ConversationSearchRequest,
  CreateBlockRequest,
  ConversationSearchResponse,
  DeleteBlockQuery,
  DeleteMemoryQuery,
  DistributiveOmit,
  EraseUserQuery,
  ErasureAccepted,
  GetBlockQuery,
  GetMemoryQuery,
  ListBlocksQuery,
  ListMemoriesQuery,
  MemoryHistory,
  MemoryHistoryQuery,
  MemoryList,
  MemoryOut,
  Message,
  SearchRequest,
  SearchResponse,
  ToolCallRequest,
  ToolList,
  ToolResult,
  ToolSchema,
  UpdateMemoryRequest,
  UserOptional,
} from "./types.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:18080";
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_WAIT_MS = 60_000;

export interface MemstreamOptions {
  /** An API key (``ms_...``) or a JWT. Default: ``MEMSTREAM_API_KEY`` where there is an environment. */
  apiKey?: string;
  /** Default: ``MEMSTREAM_URL``, else ``http://127.0.0.1:18080``. */
  baseUrl?: string;
  /** Every read waits for this client's earlier writes of the same user (a call may say otherwise). */
  readYourWrites?: boolean;
  /** Retry bounds (./retry.ts); ``{ maxRetries: 0 }`` never retries. */
  retry?: Partial<RetryPolicy>;
  /** Milliseconds one attempt may take. */
  timeoutMs?: number;
  /** The ``fetch`` to use (default: the global one): a proxy, a test's network fault. */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/** A method's fields and the call's own options, in one object. */
export type Options<T> = T & CallOptions;

export type AddOptions = Options<UserOptional<DistributiveOmit<AddMemoriesRequest, "messages" | "text">>>;
/** ``limit`` is mem0's name for ``top_k`` (``top_k`` wins when both are given). */
export type SearchOptions = Options<UserOptional<Omit<SearchRequest, "query">> & { limit?: number }>;
export type GetOptions = Options<UserOptional<GetMemoryQuery>>;
export type GetAllOptions = Options<UserOptional<ListMemoriesQuery>>;
export type UpdateOptions = Options<UserOptional<UpdateMemoryRequest>>;
export type DeleteOptions = Options<UserOptional<DeleteMemoryQuery>>;
export type DeleteAllOptions = Options<UserOptional<EraseUserQuery>>;
export type HistoryOptions = Options<UserOptional<MemoryHistoryQuery>>;
export type ContextOptions = Options<UserOptional<Omit<ContextRequest, "query">>>;
export type WaitOptions = Options<Scope>;
export type BlockOptions = Options<BlockScope>;
export type ListBlocksOptions = Options<UserOptional<ListBlocksQuery>>;
export type GetBlockOptions = Options<UserOptional<GetBlockQuery>>;
export type CreateBlockOptions = Options<UserOptional<Omit<CreateBlockRequest, "label">>>;
export type DeleteBlockOptions = Options<UserOptional<DeleteBlockQuery>>;
export type BlockHistoryOptions = Options<UserOptional<BlockHistoryQuery>>;
export type ToolOptions = Options<UserOptional<Omit<ToolCallRequest, "arguments">>>;
export type ArchivalSearchOptions = ToolOptions & { page?: number };
export type ConversationSearchOptions = Options<UserOptional<Omit<ConversationSearchRequest, "query">>>;

const CALL_OPTION_KEYS = ["readYourWrites", "signal", "idempotencyKey", "timeoutMs", "retry"] as const;

/** The request's fields and the call's options, apart; fields left undefined are not sent. */
function split<T extends object>(options: T): { fields: Record<string, unknown>; call: CallOptions } {
  const fields: Record<string, unknown> = {};
  const call: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if ((CALL_OPTION_KEYS as readonly string[]).includes(key)) call[key] = value;
    else if (value !== undefined) fields[key] = value;
  }
  return { fields, call: call as CallOptions };
}

function scopeOf(fields: Record<string, unknown>): Scope {
  return { app_id: fields["app_id"] as string | undefined, user_id: fields["user_id"] as string | undefined };
}

/** The tools that write, and where their events go; the others only read. */
const WRITING_TOOLS: Readonly<Record<string, Topic>> = {
  archival_memory_insert: "turns",
  core_memory_append: "commands",
  core_memory_replace: "commands",
};

export class Memstream {
  private readonly transport: Transport;
  private readonly tokens = new TokenBook();
  private readonly readYourWrites: boolean;

  constructor(options: MemstreamOptions = {}) {
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TypeError("no fetch: pass options.fetch (Node 20+ has one)");
    this.readYourWrites = options.readYourWrites ?? false;
    this.transport = new Transport({
      baseUrl: options.baseUrl ?? environmentVariable("MEMSTREAM_URL") ?? DEFAULT_BASE_URL,
      apiKey: options.apiKey ?? environmentVariable("MEMSTREAM_API_KEY"),
      // A bare reference to the global fetch loses its ``this`` in some browsers: call it through a wrapper.
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      retry: { ...DEFAULT_RETRY, ...options.retry },
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      headers: options.headers ?? {},
    });
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  // ---- memories

  /** Store conversation messages (extraction runs asynchronously) or, given a string, one text. */
  add(messages: string | Message[], options: AddOptions): Promise<AddMemoriesResponse> {
    const { fields, call } = split(options);
    const body = typeof messages === "string" ? { ...fields, text: messages } : { ...fields, messages };
    return this.write("POST", "/v1/memories", { body, scope: scopeOf(fields), topic: "turns", checked: false, call });
  }

  /** Hybrid search over a user's memories, best first. */
  search(query: string, options: SearchOptions): Promise<SearchResponse> {
    const { fields, call } = split(options);
    const { limit, ...rest } = fields;
    const body = { top_k: limit, ...rest, query };
    return this.read("POST", "/v1/memories/search", { body, scope: scopeOf(fields), call });
  }

  get(memoryId: string, options: GetOptions): Promise<MemoryOut> {
    const { fields, call } = split(options);
    return this.read("GET", `/v1/memories/${segment(memoryId)}`, { query: fields, scope: scopeOf(fields), call });
  }

  /** A user's memories, newest first (``limit``, ``offset``, ``state`` to page and filter). */
  getAll(options: GetAllOptions): Promise<MemoryList> {
    const { fields, call } = split(options);
    return this.read("GET", "/v1/memories", { query: fields, scope: scopeOf(fields), call });
  }

  /** Correct a memory's text and/or pin it (``{ text }``, ``{ pinned }``); applied asynchronously. */
  update(memoryId: string, options: UpdateOptions): Promise<CommandAccepted> {
    const { fields, call } = split(options);
    const path = `/v1/memories/${segment(memoryId)}`;
    return this.edit("PUT", path, { body: fields, scope: scopeOf(fields), call });
  }

  /** Forget one memory everywhere; applied asynchronously. */
  delete(memoryId: string, options: DeleteOptions): Promise<CommandAccepted> {
    const { fields, call } = split(options);
    const path = `/v1/memories/${segment(memoryId)}`;
    return this.edit("DELETE", path, { query: fields, scope: scopeOf(fields), call });
  }

  /** Erase everything of one user in every store (an admin credential); ``erasure_id`` names the receipt. */
  deleteAll(options: DeleteAllOptions): Promise<ErasureAccepted> {
    const { fields, call } = split(options);
    return this.edit("DELETE", "/v1/memories", { query: fields, scope: scopeOf(fields), call });
  }

  /** Every state and text change of a memory, with valid and known time. */
  history(memoryId: string, options: HistoryOptions): Promise<MemoryHistory> {
    const { fields, call } = split(options);
    const path = `/v1/memories/${segment(memoryId)}/history`;
    return this.read("GET", path, { query: fields, scope: scopeOf(fields), call });
  }

  /** A prompt-ready block of the memories relevant to ``query`` within ``max_tokens``. */
  getContext(query: string, options: ContextOptions): Promise<ContextResponse> {
    const { fields, call } = split(options);
    return this.read("POST", "/v1/context", { body: { ...fields, query }, scope: scopeOf(fields), call });
  }

  /**
   * Resolve once the write behind ``token`` is visible to reads. There is no route of its own: a cheap read (one
   * memory of the user) carries the token, and the API answers it once the write is applied, or 503 after its
   * own timeout, which is asked again until ``timeoutMs`` (default 60 s) have passed.
   */
  async waitFor(token: string, options: WaitOptions = {}): Promise<void> {
    const { fields, call } = split(options);
    const budget = call.timeoutMs ?? DEFAULT_WAIT_MS;
    const patient: CallOptions = {
      ...call,
      timeoutMs: budget,
      retry: { maxRetries: Number.MAX_SAFE_INTEGER, maxElapsedMs: budget, ...call.retry },
    };
    const query = { user_id: fields["user_id"], app_id: fields["app_id"], limit: 1, consistency_token: token };
    await this.transport.request({ method: "GET", path: "/v1/memories", query, write: false, call: patient });
  }

  // ---- core memory blocks

  /** A user's blocks (the agent's with ``agent_id``): ``persona`` and ``human`` first, then by label. */
  listBlocks(options: ListBlocksOptions = {}): Promise<BlockList> {
    const { fields, call } = split(options);
    return this.read("GET", "/v1/blocks", { query: fields, scope: scopeOf(fields), call });
  }

  getBlock(label: string, options: GetBlockOptions = {}): Promise<Block> {
    const { fields, call } = split(options);
    return this.read("GET", `/v1/blocks/${segment(label)}`, { query: fields, scope: scopeOf(fields), call });
  }

  createBlock(label: string, options: CreateBlockOptions = {}): Promise<BlockWriteAccepted> {
    const { fields, call } = split(options);
    const body = { ...fields, label };
    return this.edit("POST", "/v1/blocks", { body, scope: scopeOf(fields), call });
  }

  /** Add ``content`` at the end of the block (on a new line when it is not empty). */
  appendBlock(label: string, content: string, options: BlockOptions = {}): Promise<BlockWriteAccepted> {
    const { fields, call } = split(options);
    const path = `/v1/blocks/${segment(label)}/append`;
    return this.edit("POST", path, { body: { ...fields, content }, scope: scopeOf(fields), call });
  }

  /** Letta's name for ``appendBlock``. */
  coreMemoryAppend(label: string, content: string, options: BlockOptions = {}): Promise<BlockWriteAccepted> {
    return this.appendBlock(label, content, options);
  }

  /** Replace every occurrence of ``oldText`` in the block by ``newText`` (empty deletes it). */
  replaceBlock(
    label: string,
    oldText: string,
    newText: string,
    options: BlockOptions = {},
  ): Promise<BlockWriteAccepted> {
    const { fields, call } = split(options);
    const path = `/v1/blocks/${segment(label)}/replace`;
    const body = { ...fields, old: oldText, new: newText };
    return this.edit("POST", path, { body, scope: scopeOf(fields), call });
  }

  /** Letta's name for ``replaceBlock``. */
  coreMemoryReplace(
    label: string,
    oldText: string,
    newText: string,
    options: BlockOptions = {},
  ): Promise<BlockWriteAccepted> {
    return this.replaceBlock(label, oldText, newText, options);
  }

  /** Delete a block (``persona`` and ``human`` go back to empty). */
  deleteBlock(label: string, options: DeleteBlockOptions = {}): Promise<BlockWriteAccepted> {
    const { fields, call } = split(options);
    const path = `/v1/blocks/${segment(label)}`;
    return this.edit("DELETE", path, { query: fields, scope: scopeOf(fields), call });
  }

  /** Every version of a block, oldest first. */
  blockHistory(label: string, options: BlockHistoryOptions = {}): Promise<BlockHistory> {
    const { fields, call } = split(options);
    const path = `/v1/blocks/${segment(label)}/history`;
    return this.read("GET", path, { query: fields, scope: scopeOf(fields), call });
  }

  // ---- the agent's memory tools

  /** The five tools as OpenAI function-tool schemas, to hand to a model as they are. */
  async tools(options: CallOptions = {}): Promise<ToolSchema[]> {
    const request = { method: "GET", path: "/v1/tools", write: false, call: options } as const;
    const list = await this.transport.request<ToolList>(request);
    return list.tools;
  }

  /** Run one tool by name; ``arguments`` as an object or as the JSON string a model emits. */
  async runTool(
    name: string,
    args: ToolCallRequest["arguments"],
    options: ToolOptions = {},
  ): Promise<ToolResult> {
    const { fields, call } = split(options);
    const scope = scopeOf(fields);
    const path = `/v1/tools/${segment(name)}`;
    const body = { ...fields, arguments: args };
    const topic = WRITING_TOOLS[name];
    // The core memory tools edit blocks, checked against them; an archival insert adds, like ``add``.
    if (topic !== undefined) {
      return this.write("POST", path, { body, scope, topic, checked: topic === "commands", call });
    }
    // The tool routes take no consistency token: reading one's writes waits for them first.
    const pending = this.wantsOwnWrites(call) ? this.tokens.tokensFor(scope) : [];
    const waited = await this.waitForPending(scope, pending, call);
    const result = await this.transport.request<ToolResult>({ method: "POST", path, body, write: false, call });
    this.tokens.seen(scope, waited);
    return result;
  }

  /** Store ``content`` as a memory as it is (no extraction). */
  archivalMemoryInsert(content: string, options: ToolOptions = {}): Promise<ToolResult> {
    return this.runTool("archival_memory_insert", { content }, options);
  }

  /** Hybrid search over the user's memories, five results a page (``page`` 0 first). */
  archivalMemorySearch(query: string, options: ArchivalSearchOptions = {}): Promise<ToolResult> {
    const { page, ...rest } = options;
    return this.runTool("archival_memory_search", page === undefined ? { query } : { query, page }, rest);
  }

  /** Full-text search over the user's conversation turns, by date range, best first then newest. */
  conversationSearch(query: string, options: ConversationSearchOptions = {}): Promise<ConversationSearchResponse> {
    const { fields, call } = split(options);
    const body = { ...fields, query };
    return this.read("POST", "/v1/conversations/search", { body, scope: scopeOf(fields), call });
  }

  /**
   * Execute a model's tool call (``{id, type: "function", function: {name, arguments: "<json>"}}``) and return
   * the text to hand back to the model. A refusal the model can correct (bad or missing arguments, an unknown
   * tool or label, text that is not in the block, a limit) comes back as ``"Error: <the API's message>"``; a
   * refused credential, a rate limit, an outage or no answer at all is the application's problem and throws.
   */
  async executeToolCall(toolCall: ToolCall, options: ToolOptions = {}): Promise<string> {
    const { name, arguments: args } = toolCallParts(toolCall);
    try {
      return (await this.runTool(name, args, options)).text;
    } catch (error) {
      if (error instanceof MemstreamError && modelCanCorrect(error)) return `Error: ${error.message}`;
      throw error;
    }
  }

  // ---- plumbing

  private wantsOwnWrites(call: CallOptions): boolean {
    return call.readYourWrites ?? this.readYourWrites;
  }

  /** A write to the commands topic that the API checks against what is stored (see ``write``). */
  private edit<T extends { consistency_token?: string | null }>(
    method: Method,
    path: string,
    how: { body?: unknown; query?: Query; scope: Scope; call: CallOptions },
  ): Promise<T> {
    return this.write(method, path, { ...how, topic: "commands", checked: true });
  }

  /**
   * A write, remembered for read-your-writes. ``checked``: the API decides it against what is stored (a block's
   * value and limit, whether a memory exists) and an erasure must come after the user's earlier writes, so with
   * read-your-writes it first waits for this client's pending writes of the user: back-to-back edits are then
   * checked against each other, not against a state from before them, and an ``add`` just before ``deleteAll``
   * cannot land after the erasure.
   */
  private async write<T extends { consistency_token?: string | null }>(
    method: Method,
    path: string,
    how: { body?: unknown; query?: Query; scope: Scope; topic: Topic; checked: boolean; call: CallOptions },
  ): Promise<T> {
    if (how.checked && this.wantsOwnWrites(how.call)) {
      const pending = this.tokens.tokensFor(how.scope);
      await this.waitForPending(how.scope, pending, how.call);
      this.tokens.seen(how.scope, pending);
    }
    const { body, query, call } = how;
    const answer = await this.transport.request<T>({ method, path, body, query, write: true, call });
    this.tokens.wrote(how.scope, how.topic, answer.consistency_token);
    return answer;
  }

  /** A read; with read-your-writes it carries the user's pending token (waiting first for a second one). */
  private async read<T>(
    method: Method,
    path: string,
    how: { body?: Record<string, unknown>; query?: Record<string, unknown>; scope: Scope; call: CallOptions },
  ): Promise<T> {
    const given = how.body?.["consistency_token"] ?? how.query?.["consistency_token"];
    let carried: string[] = [];
    let body = how.body;
    let query: Query | undefined = how.query;
    if (given === undefined && this.wantsOwnWrites(how.call)) {
      const pending = this.tokens.tokensFor(how.scope);
      const last = pending.at(-1);
      if (last !== undefined) {
        await this.waitForPending(how.scope, pending.slice(0, -1), how.call);
        carried = pending;
        if (body !== undefined) body = { ...body, consistency_token: last };
        else query = { ...query, consistency_token: last };
      }
    }
    const answer = await this.transport.request<T>({ method, path, body, query, write: false, call: how.call });
    this.tokens.seen(how.scope, carried);
    return answer;
  }

  private async waitForPending(scope: Scope, tokens: readonly string[], call: CallOptions): Promise<string[]> {
    for (const token of tokens) {
      await this.waitFor(token, { ...scope, ...(call.signal ? { signal: call.signal } : {}) });
    }
    return [...tokens];
  }
}

/** Whether a tool call's failure is the model's to fix; see ``executeToolCall``. */
function modelCanCorrect(error: MemstreamError): boolean {
  const status = error.status;
  return status !== undefined && status >= 400 && status < 500 && ![401, 403, 429].includes(status);
}
