import type { ErrorCode } from "./protocol.js";

/** A request that failed: the server's stable code (docs/protocol.md §4, §7) or one of the
 * SDK's own (`timeout`, `disconnected`, `stopped`). */
export class ParleyError extends Error {
  readonly code: ErrorCode | string;
  /** With `rate_limited` and `unavailable`: how long to wait before retrying. */
  readonly retryAfterMs: number | undefined;
  /** HTTP requests (attachments): the status and the server's request id. */
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  /** `offset_mismatch`: where the server holds the upload. */
  readonly offset: number | undefined;

  constructor(
    code: ErrorCode | string,
    message: string,
    extra: { retryAfterMs?: number; status?: number; requestId?: string; offset?: number } = {},
  ) {
    super(message === "" ? code : `${code}: ${message}`);
    this.name = "ParleyError";
    this.code = code;
    this.retryAfterMs = extra.retryAfterMs;
    this.status = extra.status;
    this.requestId = extra.requestId;
    this.offset = extra.offset;
  }
}

/** Failures a retry can fix (the same request may succeed later, here or on another node):
 * everything else is the server's final word on that request. `unauthenticated` is not
 * among them: a token the server refuses stays refused. */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof ParleyError)) return true; // a network failure of the platform
  switch (e.code) {
    case "unavailable":
    case "rate_limited":
    case "io_error":
    case "internal":
    case "corruption": // the reply could not be read: the request may have been applied
    case "timeout":
    case "disconnected":
      return true;
    default:
      return false;
  }
}
