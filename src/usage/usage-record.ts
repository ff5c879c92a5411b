import type { Surface } from "../chat/chat-engine.ts";

/** One upstream attempt as the usage ledger keeps it. */
export interface UsageRecord {
  /** `${requestId}:${attempt}`: stable, so a billing import is idempotent. */
  readonly id: string;
  readonly requestId: string;
  readonly attempt: number;
  /** When the attempt ended. */
  readonly time: Date;
  readonly userId: string;
  readonly keyId: string;
  readonly provider: string;
  readonly requestedModel: string;
  readonly servedModel: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  readonly costUsd: number;
  readonly durationMs: number;
  /** Time to first token, 0 when none arrived or not streamed. */
  readonly ttftMs: number;
  /** The HTTP status sent (or the one REST would send). */
  readonly status: number;
  /** The error kind; "" on success. */
  readonly errorType: string;
  readonly surface: Surface;
  readonly streamed: boolean;
  /** Tokens were counted by the gateway because the upstream reported none. */
  readonly tokensEstimated: boolean;
}

/** The columns of exports, in their stable order. */
export const USAGE_COLUMNS = [
  "id", "request_id", "attempt", "time", "user_id", "key_id", "provider", "requested_model", "served_model",
  "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_usd", "duration_ms", "ttft_ms",
  "status", "error_type", "surface", "streamed", "tokens_estimated",
] as const;

/** A record as a flat object with the export column names. */
export function usageRow(r: UsageRecord): Record<(typeof USAGE_COLUMNS)[number], string | number | boolean> {
  return {
    id: r.id,
    request_id: r.requestId,
    attempt: r.attempt,
    time: r.time.toISOString(),
    user_id: r.userId,
    key_id: r.keyId,
    provider: r.provider,
    requested_model: r.requestedModel,
    served_model: r.servedModel,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    cached_tokens: r.cachedTokens,
    reasoning_tokens: r.reasoningTokens,
    cost_usd: r.costUsd,
    duration_ms: r.durationMs,
    ttft_ms: r.ttftMs,
    status: r.status,
    error_type: r.errorType,
    surface: r.surface,
    streamed: r.streamed,
    tokens_estimated: r.tokensEstimated,
  };
}
