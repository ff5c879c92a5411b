/**
 * Review of the request path rewritten for issue 6: defects of the chat
 * engine shown on the engine itself (real router, health, balancer, limits
 * and metrics; a scripted adapter in place of an upstream), each a
 * regression test of a fixed defect.
 */
import { describe, expect, it } from "vitest";
import { createChatEngine } from "../../src/chat/chat-engine.ts";
import type { ChatEvent, ChatRequest, Usage } from "../../src/chat/chat-types.ts";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import { ADMIN_CALLER } from "../../src/keys/api-key.ts";
import { createMemoryRateLimiter } from "../../src/limits/rate-limiter.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createMetrics } from "../../src/metrics/metrics.ts";
import { createModelLabels } from "../../src/metrics/model-labels.ts";
import type { ProviderAdapter, ProviderRecord } from "../../src/providers/provider.ts";
import { createBalancer } from "../../src/routing/balancer.ts";
import { createDeploymentHealth } from "../../src/routing/deployment-health.ts";
import { createDeploymentLimits } from "../../src/routing/deployment-limits.ts";
import type { RoutingOptions } from "../../src/routing/failover.ts";
import { createModelRouter } from "../../src/routing/model-router.ts";
import type { Accounting } from "../../src/usage/accounting.ts";

const EPOCH = new Date(0);
const ZERO: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0 };

const options: RoutingOptions = {
  maxAttempts: 4,
  retriesPerDeployment: 1,
  backoffMs: 10,
  maxBackoffMs: 1000,
  deadlineMs: 10_000,
  strategy: "round-robin",
  firstTokenTimeoutMs: 1000,
  stallTimeoutMs: 1000,
  rateLimitWaitMs: 0,
};

/**
 * An upstream that has the whole answer at hand: it yields every event as
 * soon as it is asked, and, like a real adapter, fails the next read once
 * its call was aborted.
 */
function readyAdapter(pieces: string[]): ProviderAdapter {
  return {
    complete: () => Promise.reject(new Error("unused")),
    async *stream(call) {
      const events: ChatEvent[] = [
        { type: "start", id: "c1", model: call.model, created: 1 },
        { type: "delta", index: 0, role: "assistant", content: "" },
        ...pieces.map((content): ChatEvent => ({ type: "delta", index: 0, content })),
        { type: "finish", index: 0, reason: { unified: "stop", raw: "stop" } },
        { type: "usage", usage: { ...ZERO, promptTokens: 3, completionTokens: pieces.length, totalTokens: 3 + pieces.length } },
      ];
      for (const e of events) {
        if (call.signal.aborted) throw new GatewayError("canceled", "the request was canceled", { cause: call.signal.reason });
        yield e;
      }
    },
  };
}

function engineWith(adapter: ProviderAdapter, stallTimeoutMs: number) {
  const provider: ProviderRecord = { name: "p", type: "openai", baseUrl: "https://p.test", apiKey: "", modelNames: [], dropUnsupportedParams: false, createTime: EPOCH, updateTime: EPOCH };
  const router = createModelRouter([]);
  router.loadProviders([provider]);
  router.loadRoutes([
    {
      name: "m",
      strategy: undefined,
      deployments: [{ provider: "p", model: "m-p", weight: 1, rpm: undefined, tpm: undefined, supportsPrefill: false }],
      fallbacks: [],
      firstTokenTimeoutMs: undefined,
      stallTimeoutMs,
      continueOnFailure: false,
      createTime: EPOCH,
      updateTime: EPOCH,
    },
  ]);
  const health = createDeploymentHealth({ failureThreshold: 2, cooldownMs: 1000, maxCooldownMs: 10_000 });
  const accounting: Accounting = {
    admit: async () => ({ maxTokens: undefined, record: async (o) => o.usage ?? ZERO, close: async () => {} }),
  };
  const engine = createChatEngine({
    router,
    adapters: new Map([["openai", adapter]]),
    accounting,
    metrics: createMetrics(),
    labels: createModelLabels(),
    logger: createLogger({ level: "error", write: () => {} }),
    health,
    balancer: createBalancer({ inFlight: health.inFlight, latencyMs: health.latencyMs, pricePerMtok: () => undefined }),
    limits: createDeploymentLimits(createMemoryRateLimiter()),
    routing: options,
  });
  return { engine, health, router };
}

const request: ChatRequest = { model: "m", messages: [{ role: "user", content: "Hi" }], stream: true, extra: {} };

describe("the stall deadline", () => {
  // src/chat/chat-engine.ts stream() → events(): the stall deadline is re-armed (`current.a.touch()`)
  // only when an upstream event arrives, so the time the generator spends suspended at `yield`
  // while its consumer is busy (a slow client: the surface awaits `drain`, or HTTP/2 flow control
  // holds a Connect stream) counts as upstream silence. The healthy upstream is aborted as
  // "stalled", the client gets a stream_stalled error for an answer that was all there, the
  // deployment's health records a failure (GATEWAY_CIRCUIT_FAILURES slow clients open its
  // circuit), and with continue_on_failure a needless continuation starts.
  // Fix: disarm the deadline while an event is handed to the consumer and re-arm it just before
  // awaiting `current.iterator.next()`, so that only time spent waiting on the upstream counts.
  it("a consumer that pauses between reads is not taken for a stalled upstream", async () => {
    const { engine, health, router } = engineWith(readyAdapter(["Hello", " from", " p."]), 60);
    const started = await engine.stream(request, { requestId: "r1", surface: "openai", caller: ADMIN_CALLER, signal: new AbortController().signal });
    const events = started.events[Symbol.asyncIterator]();
    let text = "";
    let failure: unknown;
    try {
      for (let next = await events.next(); !next.done; next = await events.next()) {
        if (next.value.type === "delta") text += next.value.content ?? "";
        await new Promise((r) => setTimeout(r, 90)); // the client's socket is full: the surface waits for `drain`
      }
    } catch (err) {
      failure = err;
    }
    expect((failure as GatewayError | undefined)?.message).toBeUndefined();
    expect(text).toBe("Hello from p.");
    const [status] = health.status(router.deployments(), () => []);
    expect(status).toMatchObject({ consecutiveFailures: 0, lastError: "" });
  });
});
