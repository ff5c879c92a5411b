import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { ProviderAdapter, UpstreamCall } from "../providers/provider.ts";
import type { DeploymentHealth } from "../routing/deployment-health.ts";
import type { DeploymentLimits } from "../routing/deployment-limits.ts";
import type { Candidate } from "../routing/failover.ts";
import { FIRST_TOKEN_TIMEOUT } from "../routing/retry-policy.ts";
import type { Admission } from "../usage/accounting.ts";
import type { ChatCompletion, ChatEvent, ChatRequest, Usage } from "./chat-types.ts";

/** What every attempt of a request shares. */
export interface AttemptDeps {
  readonly adapter: ProviderAdapter;
  readonly health: DeploymentHealth;
  readonly limits: DeploymentLimits;
  readonly metrics: GatewayMetrics;
  readonly admission: Admission | undefined;
  /** The metric label of the attempt's public model. */
  readonly modelLabel: string;
  readonly now: () => number;
  /** Hears the first token of the request (for the request's time-to-first-token). */
  onFirstToken(): void;
  /** Logs a ledger write that failed. */
  onRecordError(err: unknown): void;
}

/** One upstream attempt: the call to make, and its bookkeeping until it ends. */
export interface Attempt {
  readonly candidate: Candidate;
  readonly call: UpstreamCall;
  /** `now()` when the attempt started. */
  readonly startedAt: number;
  /** Reads an event of its stream. */
  observe(e: ChatEvent): void;
  /** Reads its whole completion. */
  completed(c: ChatCompletion): void;
  /**
   * Arms the first-token deadline: if `ms` pass before {@link stallDeadline}
   * or {@link end}, the attempt is aborted with a `timeout` error (code
   * `first_token_timeout`).
   */
  firstTokenDeadline(ms: number): void;
  /**
   * Arms the stall deadline instead: the attempt is aborted (code
   * `stream_stalled`) once `ms` pass without a byte from the upstream while
   * the gateway waits for it. Time the client takes to read does not count.
   */
  stallDeadline(ms: number): void;
  /** Says whether the gateway is waiting for the upstream (true) or for the client to take an event (false). */
  waiting(on: boolean): void;
  /** The error an attempt failed with: its deadline's, if that is what aborted it. */
  failure(err: unknown): GatewayError;
  /** Records the attempt (ledger, health, metrics, deployment tokens) once; `err` undefined on success. */
  end(err: GatewayError | undefined): Promise<void>;
}

/** Text an event carries, for counting tokens when the upstream reports none. */
export function textOf(e: Extract<ChatEvent, { type: "delta" }>): string {
  let t = (e.content ?? "") + (e.reasoning ?? "") + (e.refusal ?? "");
  if (e.toolCalls) for (const c of e.toolCalls) t += (c.name ?? "") + (c.arguments ?? "");
  return t;
}

/** Whether an event is output, as opposed to the stream's opening (start, a bare role). */
export function isProgress(e: ChatEvent): boolean {
  if (e.type === "delta") return e.toolCalls !== undefined || textOf(e) !== "";
  return e.type !== "start";
}

/**
 * Starts an attempt: counts it in flight, builds its call with an abort
 * controller of its own (aborted by the client's signal too, and by its
 * deadline), and keeps what the ledger needs.
 */
export function startAttempt(deps: AttemptDeps, candidate: Candidate, request: ChatRequest, maxTokens: number | undefined, clientSignal: AbortSignal): Attempt {
  const { deployment: d } = candidate;
  const { metrics, health } = deps;
  const startedAt = deps.now();
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(clientSignal.reason);
  if (clientSignal.aborted) controller.abort(clientSignal.reason);
  else clientSignal.addEventListener("abort", onClientAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let timedOut: GatewayError | undefined;
  /** Whether the running deadline is the stall one, which bytes restart. */
  let stall = false;
  /** Whether the gateway waits for the upstream; a stall deadline that fires otherwise waits on. */
  let waitingForUpstream = true;
  const call: UpstreamCall = {
    provider: d.provider,
    baseUrl: d.baseUrl,
    model: d.model,
    request,
    maxTokens,
    signal: controller.signal,
    onBytes: () => {
      if (stall) timer?.refresh();
    },
  };
  const labels = { provider: d.provider.name, model: deps.modelLabel };
  health.started(d);
  metrics.inFlight.inc(labels);

  let servedModel = "";
  let usage: Usage | undefined;
  let ttftMs = 0;
  let progressed = false;
  const generated: string[] = [];
  let ended = false;

  function arm(ms: number, what: string, code: string, isStall: boolean): void {
    if (timer) clearTimeout(timer);
    stall = isStall;
    if (!Number.isFinite(ms)) return;
    timer = setTimeout(function fire() {
      // The client is slow to read, not the upstream to answer: wait on.
      if (isStall && !waitingForUpstream) {
        timer = setTimeout(fire, ms);
        timer.unref();
        return;
      }
      timedOut = new GatewayError("timeout", `the upstream ${what} within ${ms} ms`, { code });
      controller.abort(timedOut);
    }, ms);
    timer.unref();
  }

  function firstToken(): void {
    ttftMs = deps.now() - startedAt;
    deps.onFirstToken();
  }

  return {
    candidate,
    call,
    startedAt,
    observe(e) {
      switch (e.type) {
        case "start":
          servedModel = e.model;
          return;
        case "usage":
          usage = e.usage;
          progressed = true;
          return;
        case "finish":
          progressed = true;
          return;
        case "delta": {
          const text = textOf(e);
          if (text === "" && e.toolCalls === undefined) return;
          if (!progressed) firstToken();
          progressed = true;
          if (text !== "") generated.push(text);
          return;
        }
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    completed(c) {
      servedModel = c.model;
      usage = c.usage;
      progressed = true;
      firstToken();
      if (!usage) {
        for (const ch of c.choices) {
          generated.push(ch.message.content ?? "", ch.message.reasoning ?? "");
          for (const t of ch.message.toolCalls) generated.push(t.function.name, t.function.arguments);
        }
      }
    },
    firstTokenDeadline(ms) {
      arm(ms, "sent no first token", FIRST_TOKEN_TIMEOUT, false);
    },
    stallDeadline(ms) {
      arm(ms, "stalled: it sent no data", "stream_stalled", true);
    },
    waiting(on) {
      waitingForUpstream = on;
      // The silence counts from when the gateway asks again.
      if (on && stall) timer?.refresh();
    },
    failure(err) {
      return timedOut ?? toGatewayError(err);
    },
    async end(err) {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      clientSignal.removeEventListener("abort", onClientAbort);
      const ms = deps.now() - startedAt;
      metrics.inFlight.dec(labels);
      metrics.upstreamDuration.observe(labels, ms / 1000);
      metrics.attempts.inc({ ...labels, outcome: err ? err.kind : "success" });
      if (!err) health.succeeded(d, ttftMs || ms);
      else if (err.kind === "rate_limited" && err.retryAfterSeconds !== undefined) health.backOff(d, err.retryAfterSeconds);
      else if (err.retryable || err.kind === "upstream_auth") health.failed(d, err.kind, err.retryAfterSeconds);
      else health.released(d);
      let recorded = usage;
      if (deps.admission) {
        try {
          recorded = await deps.admission.record({
            attempt: candidate.attempt,
            provider: d.provider.name,
            upstreamModel: d.model,
            servedModel,
            usage,
            generatedText: generated.join(""),
            status: err ? err.status : 200,
            errorType: err?.kind ?? "",
            durationMs: Math.round(ms),
            ttftMs: Math.round(ttftMs),
            modelLabel: deps.modelLabel,
          });
        } catch (cause) {
          deps.onRecordError(cause);
        }
      }
      if (recorded) {
        metrics.tokens.inc({ ...labels, direction: "input" }, recorded.promptTokens);
        metrics.tokens.inc({ ...labels, direction: "output" }, recorded.completionTokens);
        await deps.limits.used(d, recorded.totalTokens).catch(deps.onRecordError);
      }
    },
  };
}
