import { randomUUID } from "node:crypto";
import type { BudgetReservation, BudgetTracker } from "../billing/budget-tracker.ts";
import { costOf, type Pricing } from "../billing/pricing.ts";
import type { Surface } from "../chat/chat-engine.ts";
import type { ChatRequest, Usage } from "../chat/chat-types.ts";
import { GatewayError } from "../errors/gateway-error.ts";
import type { Caller } from "../keys/api-key.ts";
import type { RateLimiter } from "../limits/rate-limiter.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { TokenCounter } from "./token-counter.ts";
import type { UsageLedger } from "./usage-ledger.ts";

/** How one upstream attempt ended. */
export interface AttemptOutcome {
  readonly attempt: number;
  /** The provider the attempt went to. */
  readonly provider: string;
  /** The model name sent upstream (prices are looked up by it). */
  readonly upstreamModel: string;
  readonly servedModel: string;
  /** Usage as the upstream reported it; undefined when it reported none. */
  readonly usage: Usage | undefined;
  /** Text the upstream generated, for counting tokens when it reported no usage. */
  readonly generatedText: string;
  readonly status: number;
  /** The error kind, or "" on success. */
  readonly errorType: string;
  readonly durationMs: number;
  readonly ttftMs: number;
  /** The bounded metric label for the model. */
  readonly modelLabel: string;
}

/** A request admitted for a caller, to be recorded once per upstream attempt. */
export interface Admission {
  /**
   * The output limit the request must carry upstream, when the caller's
   * budget needs a bound and the request set none; undefined otherwise.
   */
  readonly maxTokens: number | undefined;
  /**
   * Writes one upstream attempt to the ledger (resolving once it is
   * durable), adds its cost to the request's, and counts its tokens against
   * the key's tpm. Returns the usage recorded (estimated when the upstream
   * reported none).
   */
  record(outcome: AttemptOutcome): Promise<Usage>;
  /** Settles the budget reservation to the cost of every attempt recorded. Call once, when the request ends. */
  close(): Promise<void>;
}

/** What a request is about to do, for admission. */
export interface AdmissionRequest {
  readonly caller: Caller;
  readonly requestId: string;
  readonly surface: Surface;
  readonly request: ChatRequest;
  /** The provider and upstream model expected to serve it, for the budget estimate. */
  readonly provider: string;
  readonly upstreamModel: string;
}

/** Admits requests against a caller's key limits and records what they used. */
export interface Accounting {
  /**
   * Checks the key's models, rpm, tpm and budget (reserving an estimate).
   * @throws GatewayError `permission_denied` (model not allowed) or
   * `rate_limited` (rpm, tpm, or `insufficient_quota` for the budget).
   */
  admit(req: AdmissionRequest): Promise<Admission>;
}

/** Dependencies of {@link createAccounting}. */
export interface AccountingDeps {
  readonly ledger: UsageLedger;
  readonly pricing: Pricing;
  readonly budgets: BudgetTracker;
  readonly limiter: RateLimiter;
  readonly tokens: TokenCounter;
  readonly metrics: GatewayMetrics;
  /** Completion tokens assumed for the budget estimate when the request sets no limit. */
  readonly defaultMaxTokens: number;
  readonly now?: () => Date;
}

/**
 * Outcomes after which the upstream has likely processed (and charged for)
 * the prompt although it reported no usage: success, a client that went
 * away, a timeout. (After other failures only generated text is counted.)
 */
const PROMPT_BILLED = new Set(["", "canceled", "timeout"]);

/** Creates the {@link Accounting}. */
export function createAccounting(deps: AccountingDeps): Accounting {
  const { metrics } = deps;
  const now = deps.now ?? (() => new Date());
  /** Tokens counted by the gateway; a failure to count falls back to 4 bytes a token. */
  async function estimate(request: ChatRequest, generated: string): Promise<Usage> {
    let promptTokens: number;
    let completionTokens: number;
    try {
      promptTokens = await deps.tokens.countPrompt(request.messages);
      completionTokens = await deps.tokens.countText(generated);
    } catch {
      promptTokens = Math.ceil(JSON.stringify(request.messages).length / 4);
      completionTokens = Math.ceil(Buffer.byteLength(generated) / 4);
    }
    return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, cachedTokens: 0, reasoningTokens: 0 };
  }
  const reject = (reason: string, err: GatewayError) => {
    metrics.rejections.inc({ reason });
    return err;
  };

  return {
    async admit(a) {
      const key = a.caller.key;
      if (key && key.models.length > 0 && !key.models.includes(a.request.model)) {
        throw reject("model", new GatewayError("permission_denied", `this key may not use the model '${a.request.model}'`, { code: "model_not_allowed", param: "model" }));
      }
      if (key?.rpm !== undefined) {
        const d = await deps.limiter.take(`rpm:${key.id}`, 1, key.rpm);
        if (!d.ok) throw reject("rpm", new GatewayError("rate_limited", `this key's limit of ${key.rpm} requests per minute is reached`, { code: "rate_limit_exceeded", retryAfterSeconds: d.retryAfterSeconds }));
      }
      if (key?.tpm !== undefined) {
        const d = await deps.limiter.check(`tpm:${key.id}`, key.tpm);
        if (!d.ok) throw reject("tpm", new GatewayError("rate_limited", `this key's limit of ${key.tpm} tokens per minute is reached`, { code: "rate_limit_exceeded", retryAfterSeconds: d.retryAfterSeconds }));
      }
      const price = deps.pricing.priceFor(a.provider, a.upstreamModel);
      let reservation: BudgetReservation | undefined;
      if (key?.budgetUsd !== undefined) {
        // A generous estimate: a token per 3 bytes of the request, and the full completion limit.
        const promptTokens = Math.ceil(JSON.stringify(a.request.messages).length / 3);
        const completionTokens = (a.request.max_completion_tokens ?? a.request.max_tokens ?? deps.defaultMaxTokens) * (a.request.n ?? 1);
        const estimate = costOf({ promptTokens, completionTokens, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0 }, price);
        try {
          reservation = await deps.budgets.reserve(key, estimate);
        } catch (err) {
          throw reject("budget", err as GatewayError);
        }
      }
      const recordBase = randomUUID();
      let spent = 0;
      return {
        maxTokens: key?.budgetUsd !== undefined && a.request.max_completion_tokens === undefined && a.request.max_tokens === undefined ? deps.defaultMaxTokens : undefined,
        async record(o) {
          let usage = o.usage;
          let estimated = false;
          if (!usage && (o.generatedText !== "" || PROMPT_BILLED.has(o.errorType))) {
            usage = await estimate(a.request, o.generatedText);
            estimated = true;
          }
          usage ??= { promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0 };
          const cost = costOf(usage, deps.pricing.priceFor(o.provider, o.upstreamModel));
          spent += cost;
          if (key?.tpm !== undefined && usage.totalTokens > 0) await deps.limiter.add(`tpm:${key.id}`, usage.totalTokens);
          if (cost > 0) metrics.cost.inc({ provider: o.provider, model: o.modelLabel }, cost);
          await deps.ledger.append({
            id: `${recordBase}:${o.attempt}`,
            requestId: a.requestId,
            attempt: o.attempt,
            time: now(),
            userId: a.caller.userId,
            keyId: a.caller.keyId,
            provider: o.provider,
            requestedModel: a.request.model,
            servedModel: o.servedModel || o.upstreamModel,
            promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens,
            cachedTokens: usage.cachedTokens,
            reasoningTokens: usage.reasoningTokens,
            costUsd: cost,
            durationMs: o.durationMs,
            ttftMs: o.ttftMs,
            status: o.status,
            errorType: o.errorType,
            surface: a.surface,
            streamed: a.request.stream,
            tokensEstimated: estimated,
          });
          return usage;
        },
        async close() {
          await reservation?.settle(spent);
        },
      };
    },
  };
}
