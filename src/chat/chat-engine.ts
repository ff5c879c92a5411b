import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import type { Logger } from "../log/logger.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import { UNKNOWN_MODEL } from "../metrics/metrics.ts";
import { effectiveBaseUrl } from "../providers/provider-registry.ts";
import type { ProviderAdapter, ProviderType, UpstreamCall } from "../providers/provider.ts";
import type { ModelRouter, Route } from "../routing/model-router.ts";
import type { ChatCompletion, ChatEvent, ChatRequest, Usage } from "./chat-types.ts";

/** Which front door a request came through. */
export type Surface = "openai" | "langchain" | "connect";

/** Per-request context from the surface. */
export interface ChatContext {
  readonly requestId: string;
  readonly surface: Surface;
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
}

/**
 * Serves chat completions for every surface: routes the model, calls the
 * provider's adapter, and records metrics and one log line per request.
 */
export interface ChatEngine {
  /** @throws GatewayError with the status and code to report. */
  complete(req: ChatRequest, ctx: ChatContext): Promise<{ provider: string; dropped: readonly string[]; completion: ChatCompletion }>;
  /**
   * Starts a stream and waits for its first event, so that failures before
   * any output are reported as plain errors. Stopping the iteration (or
   * aborting `ctx.signal`) aborts the upstream request.
   * @throws GatewayError before the first event.
   */
  stream(req: ChatRequest, ctx: ChatContext): Promise<StartedStream>;
  /** Records a request that failed before it could be served (unreadable body, invalid fields). */
  rejected(err: GatewayError, ctx: ChatContext): void;
}

/** Dependencies of {@link createChatEngine}. */
export interface ChatEngineDeps {
  readonly router: ModelRouter;
  readonly adapters: ReadonlyMap<ProviderType, ProviderAdapter>;
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

/** Creates the {@link ChatEngine}. */
export function createChatEngine(deps: ChatEngineDeps): ChatEngine {
  const { router, adapters, metrics, logger } = deps;
  const now = deps.now ?? (() => performance.now());

  /** Bookkeeping of one request from arrival to its end. */
  function begin(req: ChatRequest, ctx: ChatContext) {
    const start = now();
    let route: Route | undefined;
    let usage: Usage | undefined;
    const open = () => {
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
      metrics.inFlight.inc({ provider: route.provider.name, model: req.model });
      const call: UpstreamCall = {
        provider: route.provider,
        baseUrl: effectiveBaseUrl(route.provider.type, route.provider.baseUrl),
        model: route.model,
        request: dropped.length > 0 ? withoutParams(req, dropped) : req,
        signal: ctx.signal,
      };
      return { adapter, call, provider: route.provider.name, dropped };
    };
    const end = (err: unknown, status: number) => {
      const seconds = (now() - start) / 1000;
      const provider = route?.provider.name ?? "none";
      const ok = err === undefined;
      const model = route && (route.match === "exact" || ok) ? req.model : UNKNOWN_MODEL;
      if (route) {
        metrics.inFlight.dec({ provider, model: req.model });
        metrics.upstreamDuration.observe({ provider, model }, seconds);
      }
      metrics.requests.inc({ model, status: String(status) });
      metrics.requestDuration.observe({ model }, seconds);
      if (usage) {
        metrics.tokens.inc({ provider, model, direction: "input" }, usage.promptTokens);
        metrics.tokens.inc({ provider, model, direction: "output" }, usage.completionTokens);
      }
      const error = err === undefined ? undefined : toGatewayError(err);
      if (error) metrics.errors.inc({ provider, type: error.kind });
      logger.log(error && error.kind !== "canceled" && error.status >= 500 ? "error" : "info", "chat completion", {
        request_id: ctx.requestId,
        surface: ctx.surface,
        model: req.model,
        provider: route?.provider.name,
        upstream_model: route?.model,
        stream: req.stream,
        status,
        duration_ms: Math.round(seconds * 1000),
        prompt_tokens: usage?.promptTokens,
        completion_tokens: usage?.completionTokens,
        error: error?.kind,
        error_message: error?.message,
      });
    };
    return {
      open,
      end,
      setUsage: (u: Usage) => (usage = u),
      firstToken: () => {
        if (route) metrics.timeToFirstToken.observe({ provider: route.provider.name, model: req.model }, (now() - start) / 1000);
      },
    };
  }

  return {
    async complete(req, ctx) {
      const r = begin(req, ctx);
      try {
        const { adapter, call, provider, dropped } = r.open();
        const completion = await adapter.complete(call);
        if (completion.usage) r.setUsage(completion.usage);
        r.end(undefined, 200);
        return { provider, dropped, completion };
      } catch (err) {
        const e = toGatewayError(err);
        r.end(e, e.status);
        throw e;
      }
    },

    rejected(err, ctx) {
      const placeholder: ChatRequest = { model: UNKNOWN_MODEL, messages: [], stream: false, extra: {} };
      begin(placeholder, ctx).end(err, err.status);
    },

    async stream(req, ctx) {
      const r = begin(req, ctx);
      let iterator: AsyncIterator<ChatEvent>;
      let first: IteratorResult<ChatEvent>;
      let provider: string;
      let dropped: readonly string[];
      try {
        const opened = r.open();
        provider = opened.provider;
        dropped = opened.dropped;
        iterator = opened.adapter.stream(opened.call)[Symbol.asyncIterator]();
        first = await iterator.next();
      } catch (err) {
        const e = toGatewayError(err);
        r.end(e, e.status);
        throw e;
      }
      async function* events(): AsyncGenerator<ChatEvent> {
        let failure: unknown;
        let sawToken = false;
        try {
          for (let next = first; !next.done; next = await iterator.next()) {
            const e = next.value;
            if (e.type === "usage") r.setUsage(e.usage);
            else if (!sawToken && e.type === "delta" && (e.content || e.toolCalls || e.reasoning || e.refusal)) {
              sawToken = true;
              r.firstToken();
            }
            yield e;
          }
        } catch (err) {
          failure = toGatewayError(err);
          throw failure;
        } finally {
          await iterator.return?.();
          if (failure === undefined && ctx.signal.aborted) failure = new GatewayError("canceled", "the client went away");
          r.end(failure, 200);
        }
      }
      return { provider, dropped, events: events() };
    },
  };
}
