import { setTimeout as sleepFor } from "node:timers/promises";
import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import type { Caller } from "../keys/api-key.ts";
import type { Logger } from "../log/logger.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import { UNKNOWN_MODEL } from "../metrics/metrics.ts";
import type { ModelLabels } from "../metrics/model-labels.ts";
import type { ProviderAdapter, ProviderRecord, ProviderType } from "../providers/provider.ts";
import type { Balancer } from "../routing/balancer.ts";
import type { DeploymentHealth } from "../routing/deployment-health.ts";
import type { DeploymentLimits } from "../routing/deployment-limits.ts";
import { failover, type Candidate, type FailoverDeps, type RoutingOptions } from "../routing/failover.ts";
import type { ModelPlan, ModelRouter } from "../routing/model-router.ts";
import type { Accounting, Admission } from "../usage/accounting.ts";
import { isProgress, startAttempt, type Attempt } from "./attempt.ts";
import type { ChatCompletion, ChatEvent, ChatRequest } from "./chat-types.ts";

/** Which front door a request came through. */
export type Surface = "openai" | "langchain" | "connect";

/** Per-request context from the surface. */
export interface ChatContext {
  readonly requestId: string;
  readonly surface: Surface;
  /** Who the request is served for (authenticated by the surface). */
  readonly caller: Caller;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** `performance.now()` when the request arrived; the engine's own start if absent. */
  readonly receivedAt?: number;
}

/** Who answered, for the response headers. */
export interface Answered {
  /** The provider of the deployment that answered. */
  readonly provider: string;
  /** The deployment that answered, `provider/upstream-model`. */
  readonly deployment: string;
  /** The public model name that answered: the requested one or a fallback. */
  readonly model: string;
  /** Upstream attempts it took, the answering one included. */
  readonly attempts: number;
  /** Milliseconds from arrival until the answering attempt was sent: the gateway's own time, queueing, failed attempts and backoff. */
  readonly overheadMs: number;
  /** Request parameters dropped because the answering provider cannot honour them. */
  readonly dropped: readonly string[];
}

/** A stream whose first output has arrived. */
export interface StartedStream extends Answered {
  /** Every event, starting with `start`; usage always comes (surfaces drop it if unasked). */
  readonly events: AsyncIterable<ChatEvent>;
  /**
   * Ends a stream whose events will not be read (the surface failed before
   * iterating): aborts the upstream and records the request with `err`.
   */
  abandon(err: unknown): Promise<void>;
}

/**
 * Serves chat completions for every surface: resolves the model to its
 * deployments, admits the caller against its key's limits, sends the request
 * through failover (retries, other deployments, fallback models), and records
 * every attempt in the usage ledger, the metrics and one log line.
 */
export interface ChatEngine {
  /** @throws GatewayError with the status and code to report. */
  complete(req: ChatRequest, ctx: ChatContext): Promise<Answered & { completion: ChatCompletion }>;
  /**
   * Starts a stream and waits for its first output (text, a tool call or a
   * finish), so that failover happens before any byte reaches the client and
   * failures before any output are reported as plain errors. Stopping the
   * iteration (or aborting `ctx.signal`) aborts the upstream request. The
   * ledger record is written before the iteration ends.
   * @throws GatewayError before the first output.
   */
  stream(req: ChatRequest, ctx: ChatContext): Promise<StartedStream>;
  /** Records a request that failed before it could be served (no key, unreadable body, invalid fields). */
  rejected(err: GatewayError, ctx: Omit<ChatContext, "caller"> & { caller?: Caller }): void;
}

/** Dependencies of {@link createChatEngine}. */
export interface ChatEngineDeps {
  readonly router: ModelRouter;
  readonly adapters: ReadonlyMap<ProviderType, ProviderAdapter>;
  readonly accounting: Accounting;
  readonly metrics: GatewayMetrics;
  readonly labels: ModelLabels;
  readonly logger: Logger;
  readonly health: DeploymentHealth;
  readonly balancer: Balancer;
  readonly limits: DeploymentLimits;
  readonly routing: RoutingOptions;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

/** Gateway extensions that never go upstream. */
const GATEWAY_FIELDS = ["drop_params", "fallbacks"] as const;

/** A copy of the request without the named top-level parameters (in named fields or `extra`); the request itself when it has none. */
function withoutParams(req: ChatRequest, names: readonly string[]): ChatRequest {
  if (!names.some((n) => n in req || n in req.extra)) return req;
  const copy: Record<string, unknown> = { ...req, extra: { ...req.extra } };
  for (const name of names) {
    delete copy[name];
    delete (copy.extra as Record<string, unknown>)[name];
  }
  return copy as unknown as ChatRequest;
}

/** The text of a stream's first choice so far, when a prefill can carry it (text only, one choice, unfinished). */
function continuable(events: readonly ChatEvent[]): string | undefined {
  let text = "";
  for (const e of events) {
    if (e.type === "finish" || e.type === "usage") return undefined;
    if (e.type !== "delta") continue;
    if (e.index !== 0 || e.toolCalls || e.reasoning || e.refusal) return undefined;
    text += e.content ?? "";
  }
  return text.trim() === "" ? undefined : text;
}

/** The events with `prefix` taken off the first text, when the first text starts with it (a continuation's restated whitespace). */
function withoutLeading(events: ChatEvent[], prefix: string): ChatEvent[] {
  if (prefix === "") return events;
  const i = events.findIndex((e) => e.type === "delta" && e.content !== undefined && e.content !== "");
  const first = events[i];
  if (first?.type !== "delta" || !first.content?.startsWith(prefix)) return events;
  const rest = { ...first, content: first.content.slice(prefix.length) };
  const out = [...events];
  if (rest.content === "" && !isProgress(rest)) out.splice(i, 1);
  else out[i] = rest;
  return out;
}

/** Creates the {@link ChatEngine}. */
export function createChatEngine(deps: ChatEngineDeps): ChatEngine {
  const { router, adapters, metrics, logger, accounting, labels, routing } = deps;
  const now = deps.now ?? (() => performance.now());
  const planLabel = (plan: ModelPlan) => labels.of(plan.name, plan.match === "route" || plan.match === "exact");
  const failoverDeps: FailoverDeps = {
    router,
    balancer: deps.balancer,
    health: deps.health,
    limits: deps.limits,
    options: routing,
    metrics,
    labels: { model: planLabel, deployment: (d) => labels.of(d.model, d.declared) },
    now,
    sleep: (ms, signal) => sleepFor(ms, undefined, { signal }),
  };

  function adapterOf(type: ProviderType): ProviderAdapter {
    const adapter = adapters.get(type);
    if (!adapter) throw new GatewayError("internal", `provider type ${type} has no adapter`);
    return adapter;
  }

  /** Bookkeeping of one request from arrival to its end. */
  function begin(req: ChatRequest, ctx: Omit<ChatContext, "caller"> & { caller?: Caller }) {
    const start = ctx.receivedAt ?? now();
    let plan: ModelPlan | undefined;
    let admission: Admission | undefined;
    let last: Attempt | undefined;
    let firstTokenSeen = false;
    const base = withoutParams(req, GATEWAY_FIELDS);

    /** Resolves the model and admits the caller. */
    async function open(): Promise<ModelPlan> {
      plan = router.resolve(req.model);
      const key = ctx.caller?.key;
      for (const [i, m] of (req.fallbacks ?? []).entries()) {
        if (key && key.models.length > 0 && !key.models.includes(m)) {
          throw new GatewayError("permission_denied", `this key may not use the fallback model '${m}'`, { code: "model_not_allowed", param: `fallbacks[${i}]` });
        }
      }
      if (ctx.caller) {
        const first = plan.deployments[0] as (typeof plan.deployments)[number];
        admission = await accounting.admit({
          caller: ctx.caller,
          requestId: ctx.requestId,
          surface: ctx.surface,
          request: req,
          provider: first.provider.name,
          upstreamModel: first.model,
        });
      }
      return plan;
    }

    /** The last provider {@link unsupported} answered for: failover asks before an attempt, the attempt again. */
    let checked: { provider: ProviderRecord; answer: { dropped: string[]; refusal?: GatewayError } } | undefined;

    /** The parameters a candidate cannot honour, and the error if they may not be dropped. */
    function unsupported(c: Omit<Candidate, "attempt">): { dropped: string[]; refusal?: GatewayError } {
      const provider = c.deployment.provider;
      if (checked?.provider === provider) return checked.answer;
      const answer = check(provider);
      checked = { provider, answer };
      return answer;
    }

    function check(provider: ProviderRecord): { dropped: string[]; refusal?: GatewayError } {
      const dropped = adapterOf(provider.type).unsupportedParams?.(base) ?? [];
      if (dropped.length === 0 || (req.drop_params ?? provider.dropUnsupportedParams)) return { dropped };
      const param = dropped[0] as string;
      return {
        dropped,
        refusal: new GatewayError(
          "invalid_request",
          `${param}: not supported by provider '${provider.name}' (${provider.type}); remove it, or send "drop_params": true to have the gateway drop it`,
          { param, code: "unsupported_parameter" },
        ),
      };
    }

    /** Starts an attempt on a candidate, for `request` (the base request, or one with a prefill). */
    function attempt(c: Candidate, request: ChatRequest): { a: Attempt; adapter: ProviderAdapter; dropped: string[] } {
      const adapter = adapterOf(c.deployment.provider.type);
      const { dropped } = unsupported(c);
      const sent = dropped.length > 0 ? withoutParams(request, dropped) : request;
      const a = startAttempt(
        {
          adapter,
          health: deps.health,
          limits: deps.limits,
          metrics,
          admission,
          modelLabel: planLabel(c.plan),
          now,
          onFirstToken() {
            labels.served(c.plan.name);
            if (firstTokenSeen) return;
            firstTokenSeen = true;
            metrics.timeToFirstToken.observe({ provider: c.deployment.provider.name, model: planLabel(c.plan) }, (now() - start) / 1000);
          },
          onRecordError(cause) {
            logger.error("usage record could not be written", { request_id: ctx.requestId, error: (cause as Error).message });
          },
        },
        c,
        sent,
        admission?.maxTokens,
        ctx.signal,
      );
      last = a;
      return { a, adapter, dropped };
    }

    /**
     * Runs `run` through failover: from the requested model, or (`from`, for
     * a continuation) from a given plan, numbering attempts after the ones
     * made, on the deployments `accept` takes.
     */
    function serve<T>(run: (c: Candidate) => Promise<T>, from?: { plan: ModelPlan; attempts: number; accept(c: Omit<Candidate, "attempt">): boolean }) {
      const p = from?.plan ?? (plan as ModelPlan);
      const offset = from?.attempts ?? 0;
      return failover(failoverDeps, {
        plan: p,
        fallbacks: p === plan ? (req.fallbacks ?? p.fallbacks) : p.fallbacks,
        startedAt: from ? now() : start,
        signal: ctx.signal,
        refuse(c) {
          if (from && !from.accept(c)) return new GatewayError("invalid_request", `deployment '${c.deployment.id}' cannot continue a stream`);
          return unsupported(c).refusal;
        },
        run: (c) => run({ ...c, attempt: c.attempt + offset }),
      });
    }

    function answered(c: Candidate, a: Attempt, attempts: number, dropped: readonly string[]): Answered {
      return {
        provider: c.deployment.provider.name,
        deployment: c.deployment.id,
        model: c.plan.name,
        attempts,
        overheadMs: Math.max(0, Math.round(a.startedAt - start)),
        dropped,
      };
    }

    /** Ends the request: settles the budget, counts it, logs one line. */
    async function end(err: unknown, status: number): Promise<void> {
      const ms = now() - start;
      const error = err === undefined ? undefined : toGatewayError(err);
      const provider = last?.candidate.deployment.provider.name ?? "none";
      const model = plan ? planLabel(plan) : UNKNOWN_MODEL;
      try {
        await admission?.close();
      } catch (cause) {
        logger.error("budget could not be settled", { request_id: ctx.requestId, error: (cause as Error).message });
      }
      metrics.requests.inc({ model, status: String(status) });
      metrics.requestDuration.observe({ model }, ms / 1000);
      if (error) metrics.errors.inc({ provider, type: error.kind });
      logger.log(error && error.kind !== "canceled" && error.status >= 500 ? "error" : "info", "chat completion", {
        request_id: ctx.requestId,
        surface: ctx.surface,
        user_id: ctx.caller?.userId,
        key_id: ctx.caller?.keyId,
        model: req.model,
        provider: last?.candidate.deployment.provider.name,
        upstream_model: last?.candidate.deployment.model,
        served_as: last?.candidate.plan.name,
        attempts: last?.candidate.attempt,
        stream: req.stream,
        status,
        duration_ms: Math.round(ms),
        error: error?.kind,
        error_code: error?.openaiCode,
      });
    }

    return { base, open, attempt, serve, answered, end };
  }

  type Book = ReturnType<typeof begin>;

  /** A stream attempt whose first output (or end) has arrived. */
  interface OpenStream {
    readonly a: Attempt;
    readonly iterator: AsyncIterator<ChatEvent>;
    /** Events read so far, to be passed on. */
    readonly buffered: ChatEvent[];
    /** Whether the upstream stream already ended. */
    readonly ended: boolean;
    readonly dropped: string[];
  }

  /** Opens a stream on a candidate and reads up to its first output, within the first-token deadline. */
  async function openStream(r: Book, c: Candidate, request: ChatRequest): Promise<OpenStream> {
    const { a, adapter, dropped } = r.attempt(c, request);
    const iterator = adapter.stream(a.call)[Symbol.asyncIterator]();
    const buffered: ChatEvent[] = [];
    const firstTokenMs = c.plan.firstTokenTimeoutMs ?? routing.firstTokenTimeoutMs;
    a.firstTokenDeadline(firstTokenMs);
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return { a, iterator, buffered, ended: true, dropped };
        a.observe(next.value);
        buffered.push(next.value);
        if (isProgress(next.value)) break;
      }
    } catch (err) {
      const e = a.failure(err);
      await iterator.return?.().catch(() => undefined);
      await a.end(e);
      throw e;
    }
    const stallMs = c.plan.stallTimeoutMs ?? routing.stallTimeoutMs;
    a.stallDeadline(stallMs);
    a.waiting(false);
    return { a, iterator, buffered, ended: false, dropped };
  }

  /**
   * After a stream broke mid-answer: continues it on a deployment that
   * supports prefill (the partial answer sent as a trailing assistant
   * message), when the model allows it. Undefined when nothing could.
   */
  async function continueStream(r: Book, broken: OpenStream, sent: readonly ChatEvent[]): Promise<OpenStream | undefined> {
    const { plan } = broken.a.candidate;
    const partial = continuable(sent);
    if (!plan.continueOnFailure || partial === undefined) return undefined;
    // Anthropic refuses a prefill that ends in whitespace: send it trimmed, and take the trimmed part off the continuation.
    const prefill = partial.trimEnd();
    const trimmed = partial.slice(prefill.length);
    const request: ChatRequest = { ...r.base, messages: [...r.base.messages, { role: "assistant", content: prefill }] };
    const label = labels.of(plan.name, true);
    try {
      const served = await r.serve((c) => openStream(r, c, request), {
        plan,
        attempts: broken.a.candidate.attempt,
        accept: (c) => c.deployment.supportsPrefill && c.deployment.id !== broken.a.candidate.deployment.id,
      });
      metrics.continuations.inc({ model: label, result: "success" });
      // The client has its opening already: pass on output only.
      const buffered = withoutLeading(
        served.value.buffered.filter((e) => e.type !== "start" && !(e.type === "delta" && !isProgress(e))),
        trimmed,
      );
      return { ...served.value, buffered };
    } catch {
      metrics.continuations.inc({ model: label, result: "failure" });
      return undefined;
    }
  }

  return {
    async complete(req, ctx) {
      const r = begin(req, ctx);
      try {
        await r.open();
        const served = await r.serve(async (c) => {
          const { a, adapter, dropped } = r.attempt(c, r.base);
          try {
            const completion = await adapter.complete(a.call);
            a.completed(completion);
            await a.end(undefined);
            return { a, dropped, completion };
          } catch (err) {
            const e = a.failure(err);
            await a.end(e);
            throw e;
          }
        });
        const { a, dropped, completion } = served.value;
        await r.end(undefined, 200);
        return { ...r.answered(served.candidate, a, served.attempts, dropped), completion };
      } catch (err) {
        const e = toGatewayError(err);
        await r.end(e, e.status);
        throw e;
      }
    },

    rejected(err, ctx) {
      const placeholder: ChatRequest = { model: UNKNOWN_MODEL, messages: [], stream: false, extra: {} };
      void begin(placeholder, ctx).end(err, err.status);
    },

    async stream(req, ctx) {
      const r = begin(req, ctx);
      let current: OpenStream;
      let answered: Answered;
      try {
        await r.open();
        const served = await r.serve((c) => openStream(r, c, r.base));
        current = served.value;
        answered = r.answered(served.candidate, current.a, served.attempts, current.dropped);
      } catch (err) {
        const e = toGatewayError(err);
        await r.end(e, e.status);
        throw e;
      }
      let iterating = false;
      async function* events(): AsyncGenerator<ChatEvent> {
        iterating = true;
        let failure: GatewayError | undefined;
        /** Output passed on, kept for a continuation's prefill when the model allows one. */
        const sent: ChatEvent[] = [];
        const keep = current.a.candidate.plan.continueOnFailure;
        try {
          let pending = current.buffered;
          pass: for (;;) {
            for (const e of pending) {
              if (keep) sent.push(e);
              yield e;
            }
            if (current.ended) break;
            for (;;) {
              let next: IteratorResult<ChatEvent>;
              try {
                current.a.waiting(true);
                next = await current.iterator.next();
                current.a.waiting(false);
              } catch (err) {
                const e = current.a.failure(err);
                if (e.kind === "canceled" || ctx.signal.aborted) throw e;
                const resumed = await continueStream(r, current, sent);
                if (!resumed) throw e;
                await current.a.end(e);
                current = resumed;
                pending = resumed.buffered;
                continue pass;
              }
              if (next.done) break pass;
              current.a.observe(next.value);
              if (keep) sent.push(next.value);
              yield next.value;
            }
          }
        } catch (err) {
          failure = toGatewayError(err);
          throw failure;
        } finally {
          await current.iterator.return?.().catch(() => undefined);
          if (failure === undefined && ctx.signal.aborted) failure = new GatewayError("canceled", "the client went away");
          await current.a.end(failure);
          await r.end(failure, 200);
        }
      }
      const stream = events();
      return {
        ...answered,
        events: stream,
        async abandon(err) {
          if (iterating) {
            await stream.return(undefined);
            return;
          }
          const e = toGatewayError(err);
          await current.iterator.return?.().catch(() => undefined);
          await current.a.end(e);
          await r.end(e, e.status);
        },
      };
    },
  };
}
