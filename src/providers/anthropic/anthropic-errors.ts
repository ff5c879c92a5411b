import { GatewayError } from "../../errors/gateway-error.ts";
import { mapOpenAIErrorBody } from "../openai/openai-errors.ts";
import { isRecord } from "../openai/openai-response.ts";

/**
 * The HTTP status Anthropic documents for each `error.type`, used for errors
 * that arrive inside a stream (after HTTP 200) and carry only their type.
 * https://docs.claude.com/en/api/errors
 */
const STATUS_OF_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * Maps an Anthropic error (`{"type":"error","error":{"type","message"}}`)
 * with its HTTP status to a {@link GatewayError}; pass `status` undefined for
 * an in-band `event: error`, whose status follows from `error.type`. 529
 * overloaded becomes a retryable 503, 429 keeps `retryAfterSeconds`, a
 * rejected key (401/403) or a billing refusal (402) becomes `upstream_auth`,
 * and messages are kept with credentials redacted.
 * https://docs.claude.com/en/api/errors
 */
export function mapAnthropicError(status: number | undefined, body: unknown, retryAfterSeconds?: number): GatewayError {
  const err = isRecord(body) && isRecord(body.error) ? body.error : {};
  const type = typeof err.type === "string" ? err.type : undefined;
  const effective = status ?? (type !== undefined ? STATUS_OF_TYPE[type] : undefined) ?? 500;
  const message = typeof err.message === "string" && err.message !== "" ? err.message : `upstream status ${effective}`;
  if (effective === 402) {
    return new GatewayError("upstream_auth", "the provider refused the gateway's account (billing)", { cause: message });
  }
  return mapOpenAIErrorBody(effective, { error: { message, type, code: type } }, retryAfterSeconds);
}

/** Maps an Anthropic error answer whose body is text that may or may not be JSON. */
export function mapAnthropicErrorText(status: number, text: string, retryAfterSeconds?: number): GatewayError {
  let body: unknown = { error: { message: text.slice(0, 500) } };
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && isRecord(parsed.error)) body = parsed;
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the text, truncated, as the message.
  }
  return mapAnthropicError(status, body, retryAfterSeconds);
}
