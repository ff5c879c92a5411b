import { GatewayError } from "../../errors/gateway-error.ts";
import { redactSecrets } from "../../errors/redact.ts";
import { isRecord } from "./openai-response.ts";

/** Parses a `Retry-After` header (seconds or an HTTP date) into whole seconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === "") return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * Maps an upstream error answer in OpenAI's envelope
 * (`{"error":{"message","type","param","code"}}`, or Mistral's flat
 * `{"message",...}`) with its HTTP status to a {@link GatewayError}. Messages
 * are kept for the caller with credentials redacted; a rejected gateway key
 * becomes a generic `upstream_auth` error.
 * https://platform.openai.com/docs/guides/error-codes
 */
export function mapOpenAIErrorBody(status: number, body: unknown, retryAfterSeconds?: number): GatewayError {
  const err = isRecord(body) && isRecord(body.error) ? body.error : isRecord(body) ? body : {};
  const rawMessage = typeof err.message === "string" && err.message !== "" ? err.message : `upstream status ${status}`;
  const message = redactSecrets(rawMessage);
  const param = typeof err.param === "string" ? err.param : undefined;
  const code = typeof err.code === "string" ? err.code : typeof err.type === "string" ? err.type : undefined;
  switch (true) {
    case status === 401 || status === 403:
      return new GatewayError("upstream_auth", "the provider rejected the gateway's credentials for it", { cause: rawMessage });
    case status === 404:
      return new GatewayError("not_found", message, { code: code ?? "model_not_found", param });
    case status === 408:
      return new GatewayError("timeout", message);
    case status === 413:
      return new GatewayError("payload_too_large", message, { code });
    case status === 429:
      return new GatewayError("rate_limited", message, { code, retryAfterSeconds, status: 429 });
    case status === 529:
      return new GatewayError("upstream_error", message, { code, status: 503, retryAfterSeconds });
    case status >= 500:
      return new GatewayError("upstream_error", message, {
        code,
        status: status <= 504 ? status : 502,
        retryAfterSeconds,
      });
    default:
      return new GatewayError("invalid_request", message, { code, param, status: status >= 400 ? status : 400 });
  }
}

/** Maps an upstream error answer whose body is text that may or may not be JSON. */
export function mapOpenAIErrorText(status: number, text: string, retryAfterSeconds?: number): GatewayError {
  let body: unknown = { message: text.slice(0, 500) };
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text (truncated) as the message.
  }
  return mapOpenAIErrorBody(status, body, retryAfterSeconds);
}
