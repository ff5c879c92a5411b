import type { GatewayError } from "../errors/gateway-error.ts";

/** Limits on retries and failover for one request. */
export interface RetryOptions {
  /** Most upstream attempts for one request, over every deployment and fallback. */
  readonly maxAttempts: number;
  /** Retries on the same deployment before failing over to the next. */
  readonly retriesPerDeployment: number;
  /** First backoff; it doubles on each retry, with jitter. */
  readonly backoffMs: number;
  /** Longest backoff; a `Retry-After` beyond it fails over instead of waiting. */
  readonly maxBackoffMs: number;
  /** Time from arrival after which no new attempt starts. */
  readonly deadlineMs: number;
}

/** What to do after a failed attempt. */
export type Verdict =
  /** The caller's fault or a cancel: answer at once. */
  | "return"
  /** Transient: retry the same deployment (after a backoff), then fail over. */
  | "retry"
  /** This deployment cannot serve (its credentials were refused): the next one may. */
  | "next-deployment"
  /** The request does not fit this model (context length): only a fallback model may serve it. */
  | "next-model";

/** OpenAI error code of a stream whose first token did not come in time: the next deployment is tried, not the same one. */
export const FIRST_TOKEN_TIMEOUT = "first_token_timeout";

const CONTEXT_CODES = new Set(["context_length_exceeded", "string_above_max_length", "request_too_large"]);
const CONTEXT_TEXT = /context (length|window)|maximum context|too many tokens|prompt is too long|input is too long|exceeds the maximum number of tokens|reduce the length/i;

/** Whether an upstream refused a request for being longer than the model's context window. */
export function isContextLengthError(e: GatewayError): boolean {
  if (e.kind !== "invalid_request" && e.kind !== "payload_too_large") return false;
  return (e.openaiCode !== undefined && CONTEXT_CODES.has(e.openaiCode)) || CONTEXT_TEXT.test(e.message);
}

/**
 * Classifies a failed attempt. Connection errors, timeouts, 429, 500, 502,
 * 503, 504 and 529 are transient; a stream's slow first token fails over to
 * the next deployment at once. A context-length error is never resent
 * unchanged, but may go to a fallback model. Other errors the caller caused
 * (400, 404, 413, a content-policy refusal) are answered at once.
 */
export function classify(e: GatewayError): Verdict {
  switch (e.kind) {
    case "timeout":
      return e.openaiCode === FIRST_TOKEN_TIMEOUT ? "next-deployment" : "retry";
    case "rate_limited":
    case "upstream_error":
    case "upstream_unavailable":
      return "retry";
    case "upstream_auth":
      return "next-deployment";
    case "invalid_request":
    case "payload_too_large":
      return isContextLengthError(e) ? "next-model" : "return";
    default:
      return "return";
  }
}

/**
 * The wait before retry number `retry` (1 for the first): the upstream's
 * `Retry-After` when it gave one, else exponential backoff with full jitter
 * over its upper half. Undefined means "do not wait here; fail over": the
 * upstream asked for longer than the longest backoff.
 */
export function backoffMs(retry: number, retryAfterSeconds: number | undefined, options: RetryOptions, random: () => number = Math.random): number | undefined {
  if (retryAfterSeconds !== undefined) {
    const ms = retryAfterSeconds * 1000;
    return ms <= options.maxBackoffMs ? ms : undefined;
  }
  const cap = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** (retry - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}
