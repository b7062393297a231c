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

// ---- Core memory blocks, the agent's tools and conversation search

export type Block = Schemas["BlockOut"];
export type BlockList = Schemas["BlockList"];
export type BlockWriteAccepted = Schemas["BlockWriteAccepted"];
export type BlockHistory = Schemas["BlockHistory"];
export type BlockHistoryEntry = Schemas["BlockHistoryEntry"];
export type CreateBlockRequest = Schemas["CreateBlockRequest"];
export type AppendBlockRequest = Schemas["AppendBlockRequest"];
export type ReplaceBlockRequest = Schemas["ReplaceBlockRequest"];
export type ListBlocksQuery = NonNullable<operations["V1BlocksListBlocks"]["parameters"]["query"]>;
export type GetBlockQuery = NonNullable<operations["V1BlocksLabelGetBlock"]["parameters"]["query"]>;
export type DeleteBlockQuery = NonNullable<operations["V1BlocksLabelDeleteBlock"]["parameters"]["query"]>;
export type BlockHistoryQuery = NonNullable<operations["V1BlocksLabelHistoryHistory"]["parameters"]["query"]>;
/** Whose blocks: the fields every block write shares besides its own. */
export type BlockScope = UserOptional<Omit<AppendBlockRequest, "content">>;

export type ToolSchema = Schemas["FunctionTool"];
export type ToolList = Schemas["ToolList"];
export type ToolCallRequest = Schemas["ToolCallRequest"];
export type ToolResult = Schemas["ToolResult"];
export type ConversationSearchRequest = Schemas["ConversationSearchRequest"];
export type ConversationSearchResponse = Schemas["ConversationSearchResponse"];
export type ConversationHit = Schemas["ConversationHit"];
