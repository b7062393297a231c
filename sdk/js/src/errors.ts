/**
 * Errors the client throws. Every answer of the API that is not a success becomes a ``MemstreamError`` carrying
 * its ``status`` and, as its ``message``, the API's own message (the ``detail`` of its error body, api/errors.py,
 * with the fields it names in ``extra``), in a subclass
 * naming the family, so a caller can ``catch (e) { if (e instanceof NotFoundError) ... }``.
 */
import type { ErrorBody } from "./types.js";

export interface MemstreamErrorOptions {
  status?: number;
  detail?: string;
  extra?: ReadonlyArray<Record<string, string>>;
  headers?: Headers;
  cause?: unknown;
}

export class MemstreamError extends Error {
  override name = "MemstreamError";
  /** The HTTP status; ``undefined`` when no answer arrived (``MemstreamConnectionError``). */
  readonly status: number | undefined;
  /** The API's message as it sent it (``detail``), without the per-field details. */
  readonly detail: string;
  /** What failed to decode, when the API names fields (``extra`` of the error body). */
  readonly extra: ReadonlyArray<Record<string, string>>;
  /** The answer's headers (``Retry-After``, ``RateLimit-*``), when there was an answer. */
  readonly headers: Headers | undefined;

  constructor(message: string, options: MemstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.detail = options.detail ?? message;
    this.extra = options.extra ?? [];
    this.headers = options.headers;
  }
}

/** 400, 413, 415, 422: the request itself is wrong (a field, a size, a limit); sending it again will not help. */
export class InvalidRequestError extends MemstreamError {
  override name = "InvalidRequestError";
}

/** 401: no credential, or one that does not verify (missing, malformed, unknown, expired or revoked key). */
export class AuthenticationError extends MemstreamError {
  override name = "AuthenticationError";
}

/** 403: the credential is valid but does not allow this (another app, another user, a missing scope). */
export class PermissionDeniedError extends MemstreamError {
  override name = "PermissionDeniedError";
}

/** 404: no such memory, block or tool for this user (the same answer for another user's). */
export class NotFoundError extends MemstreamError {
  override name = "NotFoundError";
}

/** 409: the request conflicts with what is stored (a block that exists, text that is not in the block, an
 * idempotency key whose first request is still in flight after every retry). */
export class ConflictError extends MemstreamError {
  override name = "ConflictError";
}

/** 429 after the retries: past the caller's rate limit. */
export class RateLimitError extends MemstreamError {
  override name = "RateLimitError";
  /** Seconds the API asked to wait (``Retry-After``), if it said. */
  get retryAfterSeconds(): number | undefined {
    const value = this.headers?.get("retry-after");
    const seconds = value == null ? Number.NaN : Number(value);
    return Number.isFinite(seconds) ? seconds : undefined;
  }
}

/** 5xx: the API failed (500) or a backing store is unavailable (503, after the retries). */
export class ServerError extends MemstreamError {
  override name = "ServerError";
}

/** 503 after the retries: a store is unavailable, or a write was not applied within the wait. */
export class ServiceUnavailableError extends ServerError {
  override name = "ServiceUnavailableError";
}

/** No answer at all after the retries: the connection failed, or the request timed out. */
export class MemstreamConnectionError extends MemstreamError {
  override name = "MemstreamConnectionError";
}

/** The error for an answer with ``status`` and (when it is the API's error body) its ``body``. */
export function errorFromResponse(status: number, body: unknown, headers: Headers, statusText = ""): MemstreamError {
  const { detail, extra } = readErrorBody(body, statusText || `HTTP ${status}`);
  const message = describe(detail, extra);
  const options = { status, detail, extra, headers };
  if (status === 401) return new AuthenticationError(message, options);
  if (status === 403) return new PermissionDeniedError(message, options);
  if (status === 404) return new NotFoundError(message, options);
  if (status === 409) return new ConflictError(message, options);
  if (status === 429) return new RateLimitError(message, options);
  if (status === 503) return new ServiceUnavailableError(message, options);
  if (status >= 500) return new ServerError(message, options);
  if (status >= 400) return new InvalidRequestError(message, options);
  return new MemstreamError(message, options);
}

function readErrorBody(body: unknown, fallback: string): { detail: string; extra: Record<string, string>[] } {
  if (typeof body === "string") return { detail: body.trim() || fallback, extra: [] };
  if (body === null || typeof body !== "object") return { detail: fallback, extra: [] };
  const { detail, extra } = body as Partial<ErrorBody>;
  return {
    detail: typeof detail === "string" && detail !== "" ? detail : fallback,
    extra: Array.isArray(extra) ? extra.filter((item) => item !== null && typeof item === "object") : [],
  };
}

/** The message: the API's ``detail``, and what it says about each field (a body that did not decode says only
 * "Validation failed for POST ..." in ``detail`` and names the field in ``extra``). */
function describe(detail: string, extra: ReadonlyArray<Record<string, string>>): string {
  const fields = extra.map((item) => {
    const where = item["key"] ?? item["source"];
    const what = item["message"] ?? JSON.stringify(item);
    return where ? `${where}: ${what}` : what;
  });
  return fields.length > 0 ? `${detail} (${fields.join("; ")})` : detail;
}
