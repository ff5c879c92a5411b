import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import type { Caller } from "../keys/api-key.ts";
import type { Logger } from "../log/logger.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import { UNKNOWN_MODEL } from "../metrics/metrics.ts";
import { effectiveBaseUrl } from "../providers/provider-registry.ts";
import type { ProviderAdapter, ProviderType, UpstreamCall } from "../providers/provider.ts";
import type { ModelRouter, Route } from "../routing/model-router.ts";
import type { Accounting, Admission } from "../usage/accounting.ts";
import type { ChatCompletion, ChatEvent, ChatRequest, Usage } from "./chat-types.ts";

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
}

/** A stream whose first event has arrived. */
export interface StartedStream {
  readonly provider: string;
  /** Request parameters dropped because the provider cannot honour them. */
  readonly dropped: readonly string[];
  /** Every event, starting with `start`; usage always comes (surfaces drop it if unasked). */
  readonly events: AsyncIterable<ChatEvent>;
  /**
   * Ends a stream whose events will not be read (the surface failed before
   * iterating): aborts the upstream and records the request with `err`.
   */
  abandon(err: unknown): Promise<void>;
}

/**
 * Serves chat completions for every surface: routes the model, admits the
 * caller against its key's limits, calls the provider's adapter, and records
 * the attempt in the usage ledger, the metrics and one log line.
 */
export interface ChatEngine {
  /** @throws GatewayError with the status and code to report. */
  complete(req: ChatRequest, ctx: ChatContext): Promise<{ provider: string; dropped: readonly string[]; completion: ChatCompletion }>;
  /**
   * Starts a stream and waits for its first event, so that failures before
   * any output are reported as plain errors. Stopping the iteration (or
   * aborting `ctx.signal`) aborts the upstream request. The ledger record is
   * written before the iteration ends.
   * @throws GatewayError before the first event.
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
  readonly logger: Logger;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

/** A copy of the request without the named top-level parameters (in named fields or `extra`). */
function withoutParams(req: ChatRequest, names: readonly string[]): ChatRequest {
  const copy: Record<string, unknown> = { ...req, extra: { ...req.extra } };
  for (const name of names) {
    delete copy[name];
    delete (copy.extra as Record<string, unknown>)[name];
  }
  return copy as unknown as ChatRequest;
}

/** The request with `max_completion_tokens` set, when a limit must be imposed. */
function withLimit(req: ChatRequest, maxTokens: number | undefined): ChatRequest {
  return maxTokens === undefined ? req : { ...req, max_completion_tokens: maxTokens };
}

/** Text an event carries, for counting tokens when the upstream reports none. */
function textOf(e: Extract<ChatEvent, { type: "delta" }>): string {
  let t = (e.content ?? "") + (e.reasoning ?? "") + (e.refusal ?? "");
  for (const c of e.toolCalls ?? []) t += (c.name ?? "") + (c.arguments ?? "");
  return t;
}

/** Creates the {@link ChatEngine}. */
export function createChatEngine(deps: ChatEngineDeps): ChatEngine {
  const { router, adapters, metrics, logger, accounting } = deps;
  const now = deps.now ?? (() => performance.now());
  /**
   * Model names that an upstream has served (answered or streamed tokens
   * for). With the names providers list, only these become metric labels;
   * any other name is counted as "unknown", so clients cannot inflate the
   * series. Bounded, in case an upstream accepts any name.
   */
  const served = new Set<string>();
  const MAX_SERVED = 1000;
  const markServed = (model: string) => {
    if (served.size < MAX_SERVED) served.add(model);
  };
  const labelOf = (model: string, route: Route | undefined) =>
    route && (route.match === "exact" || served.has(model)) ? model : UNKNOWN_MODEL;

  /** Bookkeeping of one request from arrival to its end. */
  function begin(req: ChatRequest, ctx: Omit<ChatContext, "caller"> & { caller?: Caller }) {
    const start = now();
    let route: Route | undefined;
    let admission: Admission | undefined;
    let usage: Usage | undefined;
    let servedModel = "";
    let ttftMs = 0;
    let inFlightLabel: string | undefined;
    const generated: string[] = [];

    async function open() {
      route = router.resolve(req.model);
      const adapter = adapters.get(route.provider.type);
      if (!adapter) throw new GatewayError("internal", `provider type ${route.provider.type} has no adapter`);
      const dropped = adapter.unsupportedParams?.(req) ?? [];
      if (dropped.length > 0 && !(req.drop_params ?? route.provider.dropUnsupportedParams)) {
        const param = dropped[0] as string;
        throw new GatewayError(
          "invalid_request",
          `${param}: not supported by provider '${route.provider.name}' (${route.provider.type}); remove it, or send "drop_params": true to have the gateway drop it`,
          { param, code: "unsupported_parameter" },
        );
      }
      if (ctx.caller) {
        admission = await accounting.admit({
          caller: ctx.caller,
          requestId: ctx.requestId,
          surface: ctx.surface,
          request: req,
          provider: route.provider.name,
          upstreamModel: route.model,
        });
      }
      inFlightLabel = labelOf(req.model, route);
      metrics.inFlight.inc({ provider: route.provider.name, model: inFlightLabel });
      const call: UpstreamCall = {
        provider: route.provider,
        baseUrl: effectiveBaseUrl(route.provider.type, route.provider.baseUrl),
        model: route.model,
        request: withLimit(dropped.length > 0 ? withoutParams(req, dropped) : req, admission?.maxTokens),
        signal: ctx.signal,
      };
      return { adapter, call, provider: route.provider.name, dropped };
    }

    async function end(err: unknown, status: number): Promise<void> {
      const ms = now() - start;
      const provider = route?.provider.name ?? "none";
      const error = err === undefined ? undefined : toGatewayError(err);
      if (route && !error) markServed(req.model);
      const model = labelOf(req.model, route);
      if (inFlightLabel !== undefined) metrics.inFlight.dec({ provider, model: inFlightLabel });
      if (admission && route) {
        metrics.upstreamDuration.observe({ provider, model }, ms / 1000);
        try {
          await admission.record({
            attempt: 1,
            servedModel,
            usage,
            generatedText: generated.join(""),
            status,
            errorType: error?.kind ?? "",
            durationMs: Math.round(ms),
            ttftMs: Math.round(ttftMs),
            modelLabel: model,
          });
        } catch (cause) {
          logger.error("usage record could not be written", { request_id: ctx.requestId, error: (cause as Error).message });
        }
      }
      metrics.requests.inc({ model, status: String(status) });
      metrics.requestDuration.observe({ model }, ms / 1000);
      if (usage) {
        metrics.tokens.inc({ provider, model, direction: "input" }, usage.promptTokens);
        metrics.tokens.inc({ provider, model, direction: "output" }, usage.completionTokens);
      }
      if (error) metrics.errors.inc({ provider, type: error.kind });
      logger.log(error && error.kind !== "canceled" && error.status >= 500 ? "error" : "info", "chat completion", {
        request_id: ctx.requestId,
        surface: ctx.surface,
        user_id: ctx.caller?.userId,
        key_id: ctx.caller?.keyId,
        model: req.model,
        provider: route?.provider.name,
        upstream_model: route?.model,
        stream: req.stream,
        status,
        duration_ms: Math.round(ms),
        prompt_tokens: usage?.promptTokens,
        completion_tokens: usage?.completionTokens,
        error: error?.kind,
        error_code: error?.openaiCode,
      });
    }

    function observe(e: ChatEvent): void {
      switch (e.type) {
        case "start":
          servedModel = e.model;
          return;
        case "usage":
          usage = e.usage;
          return;
        case "delta": {
          const text = textOf(e);
          if (text === "") return;
          if (ttftMs === 0) {
            ttftMs = now() - start;
            if (route) metrics.timeToFirstToken.observe({ provider: route.provider.name, model: labelOf(req.model, route) }, ttftMs / 1000);
            markServed(req.model);
          }
          generated.push(text);
          return;
        }
        case "finish":
          return;
        default: {
          const never: never = e;
          return never;
        }
      }
    }

    function completed(c: ChatCompletion): void {
      servedModel = c.model;
      usage = c.usage;
      if (!usage) {
        for (const ch of c.choices) {
          generated.push(ch.message.content ?? "", ch.message.reasoning ?? "");
          for (const t of ch.message.toolCalls) generated.push(t.function.name, t.function.arguments);
        }
      }
    }

    return { open, end, observe, completed };
  }

  return {
    async complete(req, ctx) {
      const r = begin(req, ctx);
      try {
        const { adapter, call, provider, dropped } = await r.open();
        const completion = await adapter.complete(call);
        r.completed(completion);
        await r.end(undefined, 200);
        return { provider, dropped, completion };
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
      let iterator: AsyncIterator<ChatEvent>;
      let first: IteratorResult<ChatEvent>;
      let provider: string;
      let dropped: readonly string[];
      try {
        const opened = await r.open();
        provider = opened.provider;
        dropped = opened.dropped;
        iterator = opened.adapter.stream(opened.call)[Symbol.asyncIterator]();
        first = await iterator.next();
      } catch (err) {
        const e = toGatewayError(err);
        await r.end(e, e.status);
        throw e;
      }
      let iterating = false;
      async function* events(): AsyncGenerator<ChatEvent> {
        iterating = true;
        let failure: unknown;
        try {
          for (let next = first; !next.done; next = await iterator.next()) {
            r.observe(next.value);
            yield next.value;
          }
        } catch (err) {
          failure = toGatewayError(err);
          throw failure;
        } finally {
          await iterator.return?.();
          if (failure === undefined && ctx.signal.aborted) failure = new GatewayError("canceled", "the client went away");
          await r.end(failure, 200);
        }
      }
      const stream = events();
      return {
        provider,
        dropped,
        events: stream,
        async abandon(err) {
          if (iterating) {
            await stream.return(undefined);
            return;
          }
          await iterator.return?.();
          const e = toGatewayError(err);
          await r.end(e, e.status);
        },
      };
    },
  };
}
