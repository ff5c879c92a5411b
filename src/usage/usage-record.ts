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

/** A record as a flat object with the export column names (also the journal's line format). */
export interface UsageRow {
  id: string;
  request_id: string;
  attempt: number;
  time: string;
  user_id: string;
  key_id: string;
  provider: string;
  requested_model: string;
  served_model: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  duration_ms: number;
  ttft_ms: number;
  status: number;
  error_type: string;
  surface: string;
  streamed: boolean;
  tokens_estimated: boolean;
}

/** The record of a row made by {@link usageRow}. */
export function recordFromRow(r: UsageRow): UsageRecord {
  return {
    id: r.id,
    requestId: r.request_id,
    attempt: r.attempt,
    time: new Date(r.time),
    userId: r.user_id,
    keyId: r.key_id,
    provider: r.provider,
    requestedModel: r.requested_model,
    servedModel: r.served_model,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    cachedTokens: r.cached_tokens,
    reasoningTokens: r.reasoning_tokens,
    costUsd: r.cost_usd,
    durationMs: r.duration_ms,
    ttftMs: r.ttft_ms,
    status: r.status,
    errorType: r.error_type,
    surface: r.surface as Surface,
    streamed: r.streamed,
    tokensEstimated: r.tokens_estimated,
  };
}

/** A record as a flat object with the export column names. */
export function usageRow(r: UsageRecord): UsageRow {
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
