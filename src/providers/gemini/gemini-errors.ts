import { GatewayError } from "../../errors/gateway-error.ts";
import { redactSecrets } from "../../errors/redact.ts";
import { isRecord } from "../openai/openai-response.ts";

/** `google.rpc.Duration` in JSON ("37s", "1.5s") as whole seconds, rounded up. */
function durationSeconds(v: unknown): number | undefined {
  if (typeof v !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(v.trim());
  return m ? Math.ceil(Number(m[1])) : undefined;
}

function details(err: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(err.details) ? err.details.filter(isRecord) : [];
}

function detailOf(err: Record<string, unknown>, type: string): Record<string, unknown> | undefined {
  return details(err).find((d) => d["@type"] === `type.googleapis.com/google.rpc.${type}`);
}

/**
 * Maps a Gemini error answer — Google's envelope
 * `{"error":{"code","message","status","details"}}` — with its HTTP status to
 * a {@link GatewayError}. An invalid or blocked API key (HTTP 400
 * `INVALID_ARGUMENT` with an `ErrorInfo` reason `API_KEY_*`, or 401/403) is
 * the gateway's own credential: `upstream_auth`, with the upstream message
 * kept out of the client's sight. `RESOURCE_EXHAUSTED` (429) keeps the
 * `Retry-After` header, or else the `RetryInfo.retryDelay` detail; 5xx keep
 * their status (503 `UNAVAILABLE` stays 503); `DEADLINE_EXCEEDED` is a
 * timeout. Other messages reach the caller with credentials redacted, and the
 * Google status (such as `INVALID_ARGUMENT`) as the error code.
 * https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 */
export function mapGeminiErrorBody(status: number, body: unknown, retryAfterSeconds?: number): GatewayError {
  const err = isRecord(body) && isRecord(body.error) ? body.error : isRecord(body) ? body : {};
  const httpStatus = status >= 400 ? status : typeof err.code === "number" && err.code >= 400 ? err.code : 500;
  const rawMessage = typeof err.message === "string" && err.message !== "" ? err.message : `upstream status ${httpStatus}`;
  const message = redactSecrets(rawMessage);
  const code = typeof err.status === "string" && err.status !== "" ? err.status : undefined;
  const reason = detailOf(err, "ErrorInfo")?.reason;
  const retryAfter = retryAfterSeconds ?? durationSeconds(detailOf(err, "RetryInfo")?.retryDelay);
  if ((typeof reason === "string" && reason.startsWith("API_KEY_")) || httpStatus === 401 || httpStatus === 403 || code === "UNAUTHENTICATED") {
    return new GatewayError("upstream_auth", "the provider rejected the gateway's credentials for it", { cause: rawMessage });
  }
  switch (true) {
    case httpStatus === 404:
      return new GatewayError("not_found", message, { code: code ?? "model_not_found" });
    case httpStatus === 408 || httpStatus === 504 || code === "DEADLINE_EXCEEDED":
      return new GatewayError("timeout", message, { code });
    case httpStatus === 499:
      // CANCELLED: the upstream gave up on the request, not the client.
      return new GatewayError("upstream_error", message, { code, status: 502 });
    case httpStatus === 413:
      return new GatewayError("payload_too_large", message, { code });
    case httpStatus === 429:
      return new GatewayError("rate_limited", message, { code, retryAfterSeconds: retryAfter, status: 429 });
    case httpStatus >= 500:
      return new GatewayError("upstream_error", message, { code, status: httpStatus <= 503 ? httpStatus : 502, retryAfterSeconds: retryAfter });
    default:
      return new GatewayError("invalid_request", message, { code, status: httpStatus });
  }
}

/** Maps a Gemini error answer whose body is text that may or may not be JSON. */
export function mapGeminiErrorText(status: number, text: string, retryAfterSeconds?: number): GatewayError {
  let body: unknown = { message: text.slice(0, 500) };
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the text, truncated, as the message.
  }
  return mapGeminiErrorBody(status, body, retryAfterSeconds);
}
