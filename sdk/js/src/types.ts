/**
 * The request and response types of the API, as generated from its OpenAPI document into ./generated/api.ts
 * (``npm run generate``; the test suite checks that file equals what the running API serves). Named here once
 * so the client's signatures read as the API's words.
 */
import type { components, operations } from "./generated/api.js";

type Schemas = components["schemas"];

export type ErrorBody = Schemas["ErrorBody"];
export type Message = Schemas["Message"];
export type AddMemoriesRequest = Schemas["AddMemoriesRequest"];
export type AddMemoriesResponse = Schemas["AddMemoriesResponse"];
export type SearchRequest = Schemas["SearchRequest"];
export type SearchResponse = Schemas["SearchResponse"];
export type SearchHit = Schemas["SearchHit"];
export type ContextRequest = Schemas["ContextRequest"];
export type ContextResponse = Schemas["ContextResponse"];
export type MemoryOut = Schemas["MemoryOut"];
export type MemoryList = Schemas["MemoryList"];
export type MemoryHistory = Schemas["MemoryHistory"];
export type UpdateMemoryRequest = Schemas["UpdateMemoryRequest"];
export type CommandAccepted = Schemas["CommandAccepted"];
export type ErasureAccepted = Schemas["ErasureAccepted"];

export type ListMemoriesQuery = NonNullable<operations["V1MemoriesListMemories"]["parameters"]["query"]>;
export type GetMemoryQuery = NonNullable<operations["V1MemoriesMemoryIdGetOne"]["parameters"]["query"]>;
export type MemoryHistoryQuery = NonNullable<operations["V1MemoriesMemoryIdHistoryHistory"]["parameters"]["query"]>;
export type DeleteMemoryQuery = NonNullable<operations["V1MemoriesMemoryIdDeleteOne"]["parameters"]["query"]>;
export type EraseUserQuery = NonNullable<operations["V1MemoriesEraseUser"]["parameters"]["query"]>;

/** The schema states ``user_id`` as required, the rule every caller meets; a credential bound to one user may
 * leave it out (its own user), which the client's parameters allow. */
export type UserOptional<T> = DistributiveOmit<T, "user_id"> & { user_id?: string | null };

/** ``Omit`` of each member of a union (the generated bodies with a ``oneOf``/``anyOf`` rule are unions: a plain
 * ``Omit`` would keep only the keys they share and lose ``text``/``pinned``). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// ---- Core memory blocks, tools and conversation search (issue 13's contract).
// Written by hand until the API's document states them; then they become aliases of the generated schemas.

export interface Block {
  label: string;
  value: string;
  limit: number;
  version: number;
  updated_at: string | null;
  app_id: string;
  user_id: string;
  agent_id: string | null;
}
export interface BlockList {
  blocks: Block[];
}
export interface BlockWriteAccepted {
  status: string;
  event_ids: string[];
  consistency_token: string;
  block: Block;
}
export interface BlockHistoryEntry {
  version: number;
  change: "created" | "appended" | "replaced" | "deleted" | "refused";
  value: string;
  limit: number;
  reason: string | null;
  event_id: string;
  occurred_at: string;
  recorded_at: string;
}
export interface BlockHistory {
  label: string;
  entries: BlockHistoryEntry[];
}
export interface BlockScope {
  user_id?: string | null;
  app_id?: string | null;
  agent_id?: string | null;
}
export interface BlockReadQuery extends BlockScope {
  as_of?: string | null;
  consistency_token?: string | null;
}
export interface CreateBlockRequest extends BlockScope {
  label: string;
  value?: string;
  limit?: number;
}
export interface ToolSchema {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}
export interface ToolList {
  tools: ToolSchema[];
}
export interface ToolCallRequest extends BlockScope {
  arguments: Record<string, unknown> | string;
}
export interface ToolResult {
  name: string;
  text: string;
  data: unknown;
  consistency_token: string | null;
}
export interface ConversationSearchRequest extends BlockScope {
  query: string;
  start_date?: string | null;
  end_date?: string | null;
  page?: number;
  page_size?: number;
  consistency_token?: string | null;
}
export interface ConversationHit {
  turn_id: string;
  conversation_id: string;
  role: string;
  speaker: string;
  text: string;
  occurred_at: string;
  rank: number;
}
export interface ConversationSearchResponse {
  results: ConversationHit[];
  page: number;
  page_size: number;
  total: number;
}
