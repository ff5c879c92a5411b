import { Code } from "@connectrpc/connect";

/**
 * What went wrong, independent of the protocol that reports it. Each kind has
 * one row in {@link errorTable}.
 */
export type ErrorKind =
  | "invalid_request"
  | "unauthenticated"
  | "permission_denied"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "rate_limited"
  | "upstream_error"
  | "upstream_unavailable"
  | "upstream_auth"
  | "timeout"
  | "canceled"
  | "internal";

/** How one kind of error is reported over HTTP (OpenAI error JSON) and over RPC. */
export interface ErrorRow {
  /** HTTP status for the OpenAI-compatible surface. */
  readonly status: number;
  /** OpenAI `error.type`. */
  readonly type: string;
  /** Connect / gRPC code. */
  readonly code: Code;
  /** Whether trying again (later, or elsewhere) may succeed. */
  readonly retryable: boolean;
}

/**
 * The one table from error kinds to HTTP statuses, OpenAI error types and
 * Connect codes. It replaces connect-es's HTTP-status table, which maps 429 to
 * Unavailable and 400 to Internal: wrong for upstream LLM APIs.
 */
export const errorTable: Readonly<Record<ErrorKind, ErrorRow>> = {
  // The caller's request is malformed or names an unsupported value.
  invalid_request: { status: 400, type: "invalid_request_error", code: Code.InvalidArgument, retryable: false },
  // No credentials, or credentials the gateway does not accept.
  unauthenticated: { status: 401, type: "invalid_request_error", code: Code.Unauthenticated, retryable: false },
  // Valid credentials that may not do this.
  permission_denied: { status: 403, type: "permission_error", code: Code.PermissionDenied, retryable: false },
  // Unknown model, provider or route.
  not_found: { status: 404, type: "invalid_request_error", code: Code.NotFound, retryable: false },
  // A resource by that name exists already.
  conflict: { status: 409, type: "invalid_request_error", code: Code.AlreadyExists, retryable: false },
  // The request body is over the configured limit.
  payload_too_large: { status: 413, type: "invalid_request_error", code: Code.ResourceExhausted, retryable: false },
  // A rate limit, ours or the upstream's; Retry-After says when to come back.
  rate_limited: { status: 429, type: "rate_limit_error", code: Code.ResourceExhausted, retryable: true },
  // The upstream answered with a server error (5xx, Anthropic's 529).
  upstream_error: { status: 502, type: "server_error", code: Code.Unavailable, retryable: true },
  // The upstream could not be reached, or broke the connection.
  upstream_unavailable: { status: 502, type: "server_error", code: Code.Unavailable, retryable: true },
  // The upstream rejected the gateway's own API key: an operator must act.
  upstream_auth: { status: 502, type: "server_error", code: Code.Internal, retryable: false },
  // The upstream did not answer in time.
  timeout: { status: 504, type: "server_error", code: Code.DeadlineExceeded, retryable: true },
  // The client went away; nobody reads this answer (499 as nginx logs it).
  canceled: { status: 499, type: "server_error", code: Code.Canceled, retryable: false },
  // A bug or an unexpected state in the gateway.
  internal: { status: 500, type: "server_error", code: Code.Internal, retryable: false },
};

/** Options of a {@link GatewayError} beyond its kind and message. */
export interface GatewayErrorOptions {
  /** The request field at fault, such as `messages[2].role`. */
  readonly param?: string;
  /** OpenAI `error.code`, such as `model_not_found`. */
  readonly code?: string;
  /** HTTP status to send instead of the kind's (for example an upstream 503). */
  readonly status?: number;
  /** Seconds after which a retry may succeed (sent as `Retry-After`). */
  readonly retryAfterSeconds?: number;
  /** The original error; never shown to clients. */
  readonly cause?: unknown;
}

/**
 * The gateway's one error class. Its message is safe to show to clients: it
 * never holds secrets or upstream internals, which stay in `cause`.
 */
export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly param: string | undefined;
  readonly openaiCode: string | undefined;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  /** Upstream attempts made before this error was answered (set by the failover; sent as `x-gateway-attempts`). */
  attempts: number | undefined;

  constructor(kind: ErrorKind, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.kind = kind;
    this.param = options.param;
    this.openaiCode = options.code;
    this.status = options.status ?? errorTable[kind].status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Whether trying again may succeed. */
  get retryable(): boolean {
    return errorTable[this.kind].retryable;
  }
}

/**
 * Turns anything thrown into a {@link GatewayError}: aborts become `canceled`,
 * anything unknown becomes `internal` with a generic message.
 */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof Error && err.name === "AbortError") {
    return new GatewayError("canceled", "the request was canceled", { cause: err });
  }
  return new GatewayError("internal", "internal error", { cause: err });
}
