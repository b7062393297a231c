/**
 * One HTTP call to the API: the URL, the credential, the Idempotency-Key of a write, a timeout per attempt, the
 * retries (./retry.ts) and the error an answer becomes (./errors.ts). Only web-standard APIs (``fetch``,
 * ``AbortController``, ``crypto.randomUUID``), so it runs in browsers as in Node.
 */
import { MemstreamConnectionError, MemstreamError, errorFromResponse } from "./errors.js";
import { type RetryPolicy, isRetryableStatus, nextDelayMs, retryAfterMs, sleep } from "./retry.js";

export type Method = "GET" | "POST" | "PUT" | "DELETE";
/** Query parameters: undefined and null are left out, an array repeats the parameter (``state=a&state=b``). */
export type Query = Readonly<Record<string, unknown>>;

export interface TransportOptions {
  baseUrl: string;
  apiKey: string | undefined;
  fetch: typeof fetch;
  retry: RetryPolicy;
  timeoutMs: number;
  headers: Readonly<Record<string, string>>;
}

/** What a call may change about its own request. */
export interface CallOptions {
  /** Wait for this client's last write for the user before reading (overrides the client's setting). */
  readYourWrites?: boolean;
  /** Aborts the call, retries included. */
  signal?: AbortSignal;
  /** The Idempotency-Key of a write (default: a new random one per call, reused by its retries). */
  idempotencyKey?: string;
  /** Milliseconds one attempt may take (default: the client's). */
  timeoutMs?: number;
  /** This call's retry bounds (default: the client's); ``{ maxRetries: 0 }`` tries once. */
  retry?: Partial<RetryPolicy>;
}

export interface Request {
  method: Method;
  /** The path with its segments already encoded (``segment()``). */
  path: string;
  query?: Query;
  body?: unknown;
  /** A write: sent with an Idempotency-Key, so a retry is answered with the first answer, never done twice. */
  write: boolean;
  call?: CallOptions;
}

/** One path segment, encoded (labels, ids and tool names are plain, but nothing the caller passes is trusted). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

export class Transport {
  constructor(private readonly options: TransportOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async request<T>(request: Request): Promise<T> {
    const call = request.call ?? {};
    const policy: RetryPolicy = { ...this.options.retry, ...call.retry };
    const idempotencyKey = request.write ? (call.idempotencyKey ?? crypto.randomUUID()) : undefined;
    const url = this.url(request.path, request.query);
    const init = this.init(request, idempotencyKey);
    const started = Date.now();
    for (let retries = 0; ; retries += 1) {
      let failure: MemstreamError;
      let askedMs: number | undefined;
      try {
        const answer = await this.attempt(url, init, call);
        if (answer.ok) return answer.body as T;
        failure = errorFromResponse(answer.status, answer.body, answer.headers, answer.statusText);
        if (!isRetryableStatus(answer.status, answer.headers, idempotencyKey !== undefined)) throw failure;
        askedMs = retryAfterMs(answer.headers.get("retry-after"));
      } catch (error) {
        if (error instanceof MemstreamError) throw error;
        if (call.signal?.aborted) throw call.signal.reason;
        failure = new MemstreamConnectionError(`${request.method} ${url}: ${describe(error)}`, { cause: error });
      }
      const delay = nextDelayMs(policy, retries, Date.now() - started, askedMs);
      if (delay === undefined) throw failure;
      await sleep(delay, call.signal);
    }
  }

  private url(path: string, query: Query | undefined): string {
    const url = new URL(this.options.baseUrl.replace(/\/+$/, "") + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      const items = Array.isArray(value) ? (value as unknown[]) : [value];
      for (const item of items) url.searchParams.append(name, String(item));
    }
    return url.toString();
  }

  private init(request: Request, idempotencyKey: string | undefined): RequestInit {
    const headers: Record<string, string> = { Accept: "application/json", ...this.options.headers };
    if (this.options.apiKey) headers["Authorization"] = `Bearer ${this.options.apiKey}`;
    if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
    const init: RequestInit = { method: request.method, headers };
    if (request.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(request.body);
    }
    return init;
  }

  /** One attempt, its body read within the same timeout. Throws only when no answer arrived. */
  private async attempt(url: string, init: RequestInit, call: CallOptions): Promise<Answer> {
    const controller = new AbortController();
    const timeoutMs = call.timeoutMs ?? this.options.timeoutMs;
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")),
      timeoutMs,
    );
    const forward = (): void => controller.abort(call.signal?.reason);
    if (call.signal?.aborted) forward();
    call.signal?.addEventListener("abort", forward, { once: true });
    try {
      const response = await this.options.fetch(url, { ...init, signal: controller.signal });
      const text = await response.text();
      return {
        ok: response.ok,
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        body: parseBody(text, response.headers),
      };
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener("abort", forward);
    }
  }
}

interface Answer {
  ok: boolean;
  status: number;
  statusText: string;
  headers: Headers;
  body: unknown;
}

function parseBody(text: string, headers: Headers): unknown {
  if (text === "") return undefined;
  if (!(headers.get("content-type") ?? "").includes("json")) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fetch says only "fetch failed" and puts the reason (ECONNREFUSED ...) in ``cause``.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
