import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import { createMemoryRateLimiter } from "../../src/limits/rate-limiter.ts";
import { createMetrics, type GatewayMetrics } from "../../src/metrics/metrics.ts";
import type { ProviderRecord } from "../../src/providers/provider.ts";
import { createBalancer } from "../../src/routing/balancer.ts";
import { createDeploymentHealth, type DeploymentHealth } from "../../src/routing/deployment-health.ts";
import { createDeploymentLimits, type DeploymentLimits } from "../../src/routing/deployment-limits.ts";
import { failover, type Candidate, type FailoverDeps, type FailoverRequest, type RoutingOptions } from "../../src/routing/failover.ts";
import type { BalancingStrategy, DeploymentSpec, ModelRouteRecord } from "../../src/routing/model-route.ts";
import { createModelRouter, type Deployment, type ModelPlan, type ModelRouter } from "../../src/routing/model-router.ts";
import { FIRST_TOKEN_TIMEOUT } from "../../src/routing/retry-policy.ts";

const EPOCH = new Date(0);

function provider(name: string): ProviderRecord {
  return { name, type: "openai", baseUrl: `https://${name}.test`, apiKey: "", modelNames: [], dropUnsupportedParams: false, createTime: EPOCH, updateTime: EPOCH };
}

/** A deployment spec `provider:model`, with optional rpm. */
function spec(id: string, extra: Partial<DeploymentSpec> = {}): DeploymentSpec {
  const [p, m] = id.split(":") as [string, string];
  return { provider: p, model: m, weight: 1, rpm: undefined, tpm: undefined, supportsPrefill: false, ...extra };
}

function route(name: string, deployments: DeploymentSpec[], fallbacks: string[] = [], strategy?: BalancingStrategy): ModelRouteRecord {
  return { name, strategy, deployments, fallbacks, firstTokenTimeoutMs: undefined, stallTimeoutMs: undefined, continueOnFailure: false, createTime: EPOCH, updateTime: EPOCH };
}

/** `m` is served by a/m-a and b/m-b (round-robin: a first on the first request) and falls back to `f`, served by c/f-c. */
const ROUTES = [route("m", [spec("a:m-a"), spec("b:m-b")], ["f"]), route("f", [spec("c:f-c")])];

const baseOptions: RoutingOptions = {
  maxAttempts: 10,
  retriesPerDeployment: 1,
  backoffMs: 20,
  maxBackoffMs: 5000,
  deadlineMs: 60_000,
  strategy: "round-robin",
  firstTokenTimeoutMs: 10_000,
  stallTimeoutMs: 10_000,
  rateLimitWaitMs: 0,
};

/** What an attempt does: throw this error, or answer. */
type Outcome = GatewayError | "ok";

interface Harness {
  router: ModelRouter;
  health: DeploymentHealth;
  limits: DeploymentLimits;
  metrics: GatewayMetrics;
  deps: FailoverDeps;
  clock: { t: number };
  /** Waits the failover asked for, in ms. */
  waits: number[];
  /** Attempts made, as `attempt:deployment-id` (the fallback index after a `#` when not 0). */
  calls: string[];
  /** `now()` at the start of each attempt. */
  startedAt: number[];
  /** Scripts each deployment's answers, in order; an unscripted attempt answers. */
  script(id: string, ...outcomes: Outcome[]): void;
  /** A failover request for `model` whose attempts follow the script. */
  request(model?: string, extra?: Partial<FailoverRequest<string>>): FailoverRequest<string>;
  plan(model: string): ModelPlan;
  deployment(id: string): Deployment;
  /** Opens a deployment's circuit. */
  coolDown(id: string): void;
}

function harness(options: Partial<RoutingOptions> = {}, routes: ModelRouteRecord[] = ROUTES, attemptMs = 0): Harness {
  const clock = { t: 1_000 };
  const now = () => clock.t;
  const router = createModelRouter([]);
  router.loadProviders(["a", "b", "c", "d"].map(provider));
  router.loadRoutes(routes);
  const health = createDeploymentHealth({ failureThreshold: 3, cooldownMs: 30_000, maxCooldownMs: 300_000 }, {}, now);
  // The limiter's wall clock moves with the failover's clock.
  const limits = createDeploymentLimits(createMemoryRateLimiter(() => 1_700_000_000_000 + clock.t));
  const metrics = createMetrics();
  const waits: number[] = [];
  const deps: FailoverDeps = {
    router,
    balancer: createBalancer({ inFlight: health.inFlight, latencyMs: health.latencyMs, pricePerMtok: () => undefined }),
    health,
    limits,
    options: { ...baseOptions, ...options },
    metrics,
    labels: { model: (p) => p.name, deployment: (d) => d.model },
    now,
    sleep: async (ms) => {
      waits.push(ms);
      clock.t += ms;
    },
  };
  const scripts = new Map<string, Outcome[]>();
  const calls: string[] = [];
  const startedAt: number[] = [];
  const plan = (model: string) => router.resolve(model);
  const deployment = (id: string) => {
    const d = router.deployments().find((x) => x.id === id);
    if (!d) throw new Error(`no deployment ${id}`);
    return d;
  };
  return {
    router,
    health,
    limits,
    metrics,
    deps,
    clock,
    waits,
    calls,
    startedAt,
    script: (id, ...outcomes) => void scripts.set(id, outcomes),
    plan,
    deployment,
    coolDown(id) {
      const d = deployment(id);
      for (let i = 0; i < 3; i++) {
        health.started(d);
        health.failed(d, "upstream_error");
      }
    },
    request(model = "m", extra = {}) {
      const p = plan(model);
      return {
        plan: p,
        fallbacks: p.fallbacks,
        startedAt: clock.t,
        signal: new AbortController().signal,
        refuse: () => undefined,
        async run(c: Candidate) {
          calls.push(`${c.attempt}:${c.deployment.id}${c.fallback ? `#${c.fallback}` : ""}`);
          startedAt.push(clock.t);
          clock.t += attemptMs;
          const next = scripts.get(c.deployment.id)?.shift() ?? "ok";
          if (next !== "ok") throw next;
          return `answer from ${c.deployment.id}`;
        },
        ...extra,
      };
    },
  };
}

const serverError = () => new GatewayError("upstream_error", "upstream status 500", { status: 500 });
const unavailable = () => new GatewayError("upstream_unavailable", "connection refused");
const contextError = () => new GatewayError("invalid_request", "This model's maximum context length is 8192 tokens.", { code: "context_length_exceeded" });

/** A counter's value for the given labels (0 when never incremented). */
async function count(metrics: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return hit?.value ?? 0;
}

describe("failover", () => {
  it("answers from the first deployment when it succeeds, in one attempt", async () => {
    const h = harness();
    const served = await failover(h.deps, h.request());
    expect(served).toMatchObject({ value: "answer from a/m-a", attempts: 1, candidate: { attempt: 1, fallback: 0, deployment: { id: "a/m-a" } } });
    expect(h.waits).toEqual([]);
  });

  it("retries the same deployment, then the next deployment, then the fallback model", async () => {
    const h = harness();
    h.script("a/m-a", serverError(), serverError());
    h.script("b/m-b", unavailable(), unavailable());
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:a/m-a", "2:a/m-a", "3:b/m-b", "4:b/m-b", "5:c/f-c#1"]);
    expect(served).toMatchObject({ value: "answer from c/f-c", attempts: 5, candidate: { fallback: 1, plan: { name: "f" } } });
    // One jittered backoff before each retry: within [backoffMs/2, backoffMs] for a first retry.
    expect(h.waits).toHaveLength(2);
    for (const w of h.waits) expect(w).toBeGreaterThanOrEqual(10), expect(w).toBeLessThanOrEqual(20);
    const m = h.metrics;
    expect(await count(m, "gateway_retries_total", { provider: "a", model: "m" })).toBe(1);
    expect(await count(m, "gateway_retries_total", { provider: "b", model: "m" })).toBe(1);
    expect(await count(m, "gateway_failovers_total", { provider: "a", model: "m" })).toBe(1);
    expect(await count(m, "gateway_failovers_total", { provider: "b", model: "m" })).toBe(1);
    expect(await count(m, "gateway_fallbacks_total", { model: "m", result: "success" })).toBe(1);
    expect(await count(m, "gateway_fallbacks_total", { model: "m", result: "failure" })).toBe(0);
  });

  it("stays on the deployment when its retry succeeds, counting one retry and no failover", async () => {
    const h = harness();
    h.script("a/m-a", serverError());
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:a/m-a", "2:a/m-a"]);
    expect(served.attempts).toBe(2);
    expect(await count(h.metrics, "gateway_retries_total", { provider: "a", model: "m" })).toBe(1);
    expect(await count(h.metrics, "gateway_failovers_total", { provider: "a", model: "m" })).toBe(0);
    expect(await count(h.metrics, "gateway_fallbacks_total", { model: "m", result: "success" })).toBe(0);
  });

  it("waits the upstream's Retry-After before retrying the same deployment", async () => {
    const h = harness();
    h.script("a/m-a", new GatewayError("rate_limited", "slow down", { retryAfterSeconds: 2 }));
    const served = await failover(h.deps, h.request());
    expect(h.waits).toEqual([2000]);
    expect(h.calls).toEqual(["1:a/m-a", "2:a/m-a"]);
    expect(served.candidate.deployment.id).toBe("a/m-a");
  });

  it("fails over at once, without waiting, when Retry-After is beyond maxBackoffMs", async () => {
    const h = harness();
    h.script("a/m-a", new GatewayError("rate_limited", "slow down", { retryAfterSeconds: 60 }));
    const served = await failover(h.deps, h.request());
    expect(h.waits).toEqual([]);
    expect(h.calls).toEqual(["1:a/m-a", "2:b/m-b"]);
    expect(served.candidate.deployment.id).toBe("b/m-b");
  });

  it("moves to the next deployment without a retry when the upstream refuses the gateway's key", async () => {
    const h = harness();
    h.script("a/m-a", new GatewayError("upstream_auth", "the provider rejected the gateway's credentials for it"));
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:a/m-a", "2:b/m-b"]);
    expect(h.waits).toEqual([]);
    expect(served.attempts).toBe(2);
  });

  it("moves to the next deployment without a retry when a stream's first token came too late", async () => {
    const h = harness();
    h.script("a/m-a", new GatewayError("timeout", "the upstream sent no first token within 500 ms", { code: FIRST_TOKEN_TIMEOUT }));
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:a/m-a", "2:b/m-b"]);
    expect(h.waits).toEqual([]);
    expect(served.candidate.deployment.id).toBe("b/m-b");
  });

  it("does not retry a deployment whose circuit the failure opened, and fails over instead", async () => {
    const h = harness();
    const a = h.deployment("a/m-a");
    for (let i = 0; i < 2; i++) h.health.started(a), h.health.failed(a, "upstream_error");
    const req = h.request();
    // Like the engine's attempts, each one reports to the deployment health.
    const reporting: FailoverRequest<string> = {
      ...req,
      async run(c) {
        h.health.started(c.deployment);
        try {
          const value = await req.run(c);
          h.health.succeeded(c.deployment, 5);
          return value;
        } catch (err) {
          h.health.failed(c.deployment, (err as GatewayError).kind);
          throw err;
        }
      },
    };
    h.script("a/m-a", serverError(), serverError());
    const served = await failover(h.deps, reporting);
    expect(h.calls).toEqual(["1:a/m-a", "2:b/m-b"]);
    expect(h.health.availability(a).ok).toBe(false);
    expect(served.candidate.deployment.id).toBe("b/m-b");
  });

  it.each([
    ["invalid_request", () => new GatewayError("invalid_request", "messages[0].role: unknown role", { param: "messages[0].role" })],
    ["not_found", () => new GatewayError("not_found", "The model 'm-a' does not exist", { code: "model_not_found" })],
    ["payload_too_large", () => new GatewayError("payload_too_large", "request body too large")],
    ["permission_denied", () => new GatewayError("permission_denied", "not allowed")],
  ] as const)("answers a caller error (%s) at once with one attempt", async (_kind, make) => {
    const h = harness();
    const error = make();
    h.script("a/m-a", error);
    await expect(failover(h.deps, h.request())).rejects.toBe(error);
    expect(h.calls).toEqual(["1:a/m-a"]);
    expect(h.waits).toEqual([]);
    expect(await count(h.metrics, "gateway_fallbacks_total", { model: "m", result: "failure" })).toBe(0);
  });

  it("answers canceled and stops when the client goes away during an attempt", async () => {
    const h = harness();
    const controller = new AbortController();
    const req = h.request("m", { signal: controller.signal });
    const run = req.run;
    const aborting = { ...req, run: (c: Candidate) => (controller.abort(), run(c)) };
    h.script("a/m-a", unavailable());
    await expect(failover(h.deps, aborting)).rejects.toMatchObject({ kind: "canceled" });
    expect(h.calls).toEqual(["1:a/m-a"]);
  });

  it("sends a context-length error to the fallback model, skipping the model's other deployments", async () => {
    const h = harness();
    h.script("a/m-a", contextError());
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:a/m-a", "2:c/f-c#1"]);
    expect(served.candidate.plan.name).toBe("f");
    expect(h.waits).toEqual([]);
    expect(await count(h.metrics, "gateway_fallbacks_total", { model: "m", result: "success" })).toBe(1);
  });

  it("answers a context-length error when there is no fallback model, never resending it", async () => {
    const h = harness();
    const error = contextError();
    h.script("a/m-a", error);
    await expect(failover(h.deps, h.request("m", { fallbacks: [] }))).rejects.toBe(error);
    expect(h.calls).toEqual(["1:a/m-a"]);
  });

  it("follows the fallbacks of the request, in order, skipping one that routes nowhere", async () => {
    const routes = [...ROUTES, route("g", [spec("d:g-d")])];
    const h = harness({}, routes);
    h.script("a/m-a", serverError(), serverError());
    h.script("b/m-b", serverError(), serverError());
    const served = await failover(h.deps, h.request("m", { fallbacks: ["no-such-model", "g", "f"] }));
    expect(h.calls.slice(4)).toEqual(["5:d/g-d#2"]);
    expect(served.candidate).toMatchObject({ fallback: 2, plan: { name: "g" } });
  });

  it("counts a failed fallback when the fallback model fails too, and answers its error", async () => {
    const h = harness();
    h.script("a/m-a", serverError(), serverError());
    h.script("b/m-b", serverError(), serverError());
    const last = unavailable();
    h.script("c/f-c", unavailable(), last);
    await expect(failover(h.deps, h.request())).rejects.toBe(last);
    expect(h.calls).toHaveLength(6);
    expect(await count(h.metrics, "gateway_fallbacks_total", { model: "m", result: "failure" })).toBe(1);
    expect(await count(h.metrics, "gateway_fallbacks_total", { model: "m", result: "success" })).toBe(0);
  });

  it("makes no more than maxAttempts attempts over every deployment and fallback", async () => {
    const h = harness({ maxAttempts: 3 });
    h.script("a/m-a", serverError(), serverError());
    const last = serverError();
    h.script("b/m-b", last, serverError());
    await expect(failover(h.deps, h.request())).rejects.toBe(last);
    expect(h.calls).toEqual(["1:a/m-a", "2:a/m-a", "3:b/m-b"]);
    // No backoff is slept when no attempt may follow it.
    expect(h.waits).toHaveLength(1);
  });

  it("starts no attempt after the deadline", async () => {
    // Each attempt takes 600 ms of a 1000 ms deadline.
    const h = harness({ deadlineMs: 1000 }, ROUTES, 600);
    h.script("a/m-a", serverError(), serverError());
    h.script("b/m-b", serverError(), serverError());
    await expect(failover(h.deps, h.request())).rejects.toMatchObject({ kind: "upstream_error" });
    expect(h.calls).toEqual(["1:a/m-a", "2:a/m-a"]);
    for (const t of h.startedAt) expect(t).toBeLessThan(1000 + 1000);
  });

  it("does not sleep a backoff that would end past the deadline, and fails over instead", async () => {
    const h = harness({ deadlineMs: 1000 }, ROUTES, 990);
    h.script("a/m-a", serverError());
    const served = await failover(h.deps, h.request());
    expect(h.waits).toEqual([]);
    expect(h.calls).toEqual(["1:a/m-a", "2:b/m-b"]);
    expect(served.candidate.deployment.id).toBe("b/m-b");
  });

  it("skips a deployment that cannot take the request and serves from another", async () => {
    const h = harness();
    const refusal = new GatewayError("invalid_request", "logprobs: not supported by provider 'a'", { param: "logprobs", code: "unsupported_parameter" });
    const served = await failover(h.deps, h.request("m", { refuse: (c) => (c.deployment.id === "a/m-a" ? refusal : undefined) }));
    expect(h.calls).toEqual(["1:b/m-b"]);
    expect(served.attempts).toBe(1);
  });

  it("answers the first refusal when no deployment can take the request, without calling any", async () => {
    const h = harness();
    const refusals: GatewayError[] = [];
    const refuse = (c: Omit<Candidate, "attempt">) => {
      const e = new GatewayError("invalid_request", `logprobs: not supported by '${c.deployment.id}'`, { param: "logprobs" });
      refusals.push(e);
      return e;
    };
    await expect(failover(h.deps, h.request("m", { refuse }))).rejects.toBe(refusals[0]);
    expect(refusals.map((e) => e.message)).toEqual(["logprobs: not supported by 'a/m-a'", "logprobs: not supported by 'b/m-b'", "logprobs: not supported by 'c/f-c'"]);
    expect(h.calls).toEqual([]);
  });

  it("skips a deployment in cooldown while another can answer", async () => {
    const h = harness();
    h.coolDown("a/m-a");
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:b/m-b"]);
    expect(served.candidate.deployment.id).toBe("b/m-b");
  });

  it("tries a deployment in cooldown as the last resort when it is the only one of its model", async () => {
    const h = harness({}, [route("solo", [spec("a:solo-a")])]);
    h.coolDown("a/solo-a");
    const served = await failover(h.deps, h.request("solo"));
    expect(h.calls).toEqual(["1:a/solo-a"]);
    expect(served.value).toBe("answer from a/solo-a");
  });

  it("tries a deployment in cooldown last, after every other deployment and fallback failed", async () => {
    const h = harness();
    h.coolDown("a/m-a");
    h.script("b/m-b", serverError(), serverError());
    h.script("c/f-c", serverError(), serverError());
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:b/m-b", "2:b/m-b", "3:c/f-c#1", "4:c/f-c#1", "5:a/m-a"]);
    expect(served.candidate.deployment.id).toBe("a/m-a");
  });

  it("tries deployments in cooldown soonest-to-recover first", async () => {
    const h = harness({}, [route("pair", [spec("a:p-a"), spec("b:p-b")])]);
    h.coolDown("b/p-b");
    h.clock.t += 10_000;
    h.coolDown("a/p-a"); // opened later: recovers later
    h.script("b/p-b", new GatewayError("upstream_auth", "key refused"));
    await failover(h.deps, h.request("pair"));
    expect(h.calls).toEqual(["1:b/p-b", "2:a/p-a"]);
  });

  it("skips a deployment at its own rpm limit for one that is not", async () => {
    const h = harness({}, [route("lim", [spec("a:l-a", { rpm: 1 }), spec("b:l-b", { rpm: 1 })])]);
    expect((await h.limits.admit(h.deployment("a/l-a"))).ok).toBe(true);
    const served = await failover(h.deps, h.request("lim"));
    expect(h.calls).toEqual(["1:b/l-b"]);
    expect(served.candidate.deployment.id).toBe("b/l-b");
    expect(await count(h.metrics, "gateway_deployment_rate_limited_total", { provider: "a", model: "l-a" })).toBe(1);
  });

  it("waits for a deployment's rpm limit to free up when every deployment is at it, within rateLimitWaitMs", async () => {
    const h = harness({ rateLimitWaitMs: 60_000, deadlineMs: 120_000 }, [route("lim", [spec("a:l-a", { rpm: 1 }), spec("b:l-b", { rpm: 1 })])]);
    for (const id of ["a/l-a", "b/l-b"]) expect((await h.limits.admit(h.deployment(id))).ok).toBe(true);
    const served = await failover(h.deps, h.request("lim"));
    expect(h.waits).toEqual([60_000]);
    expect(served.attempts).toBe(1);
    expect(h.calls).toHaveLength(1);
    expect(await count(h.metrics, "gateway_deployment_rate_limited_total", { provider: "a", model: "l-a" })).toBe(1);
    expect(await count(h.metrics, "gateway_deployment_rate_limited_total", { provider: "b", model: "l-b" })).toBe(1);
  });

  it("answers 429 with Retry-After when every deployment is at its rpm limit for longer than rateLimitWaitMs", async () => {
    const h = harness({ rateLimitWaitMs: 1000 }, [route("lim", [spec("a:l-a", { rpm: 1 }), spec("b:l-b", { rpm: 1 })])]);
    for (const id of ["a/l-a", "b/l-b"]) await h.limits.admit(h.deployment(id));
    h.clock.t += 15_000;
    const error = await failover(h.deps, h.request("lim")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: "rate_limited", status: 429, openaiCode: "rate_limit_exceeded", retryAfterSeconds: 45 });
    expect(h.calls).toEqual([]);
    expect(h.waits).toEqual([]);
  });

  it("answers 429 at once, without waiting, when the rate limit frees up only after the deadline", async () => {
    const h = harness({ rateLimitWaitMs: 60_000, deadlineMs: 30_000 }, [route("lim", [spec("a:l-a", { rpm: 1 })])]);
    await h.limits.admit(h.deployment("a/l-a"));
    h.clock.t += 15_000; // frees up in 45 s; the deadline is in 30 s
    const error = await failover(h.deps, h.request("lim")).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "rate_limited", retryAfterSeconds: 45 });
    expect(h.waits).toEqual([]);
  });

  it("fails over at once when the model's fallback can answer instead of a rate-limited deployment", async () => {
    const h = harness({ rateLimitWaitMs: 60_000 }, [route("lim", [spec("a:l-a", { rpm: 1 })], ["f"]), route("f", [spec("c:f-c")])]);
    await h.limits.admit(h.deployment("a/l-a"));
    const served = await failover(h.deps, h.request("lim"));
    expect(h.waits).toEqual([]);
    expect(served.candidate.deployment.id).toBe("c/f-c");
  });

  it("never resends a context-length error to another deployment of the same model, even as a last resort", async () => {
    const h = harness({}, [route("m", [spec("b:m-b"), spec("a:m-a")], ["f"]), route("f", [spec("c:f-c")])]);
    h.coolDown("b/m-b"); // ordered first, skipped for its cooldown
    h.script("a/m-a", contextError());
    const last = serverError();
    h.script("c/f-c", serverError(), last);
    await expect(failover(h.deps, h.request())).rejects.toBe(last);
    expect(h.calls).toEqual(["1:a/m-a", "2:c/f-c#1", "3:c/f-c#1"]);
  });

  it("tries the fallback model's only deployment in cooldown after a context-length error", async () => {
    const h = harness();
    h.coolDown("c/f-c");
    h.script("a/m-a", contextError());
    const served = await failover(h.deps, h.request());
    expect(h.calls).toEqual(["1:a/m-a", "2:c/f-c#1"]);
    expect(served.candidate.plan.name).toBe("f");
  });

  it("counts no fallback failure when the fallback model was never tried", async () => {
    const h = harness({ maxAttempts: 2 });
    h.script("a/m-a", serverError(), serverError());
    await expect(failover(h.deps, h.request())).rejects.toMatchObject({ kind: "upstream_error" });
    expect(h.calls).toEqual(["1:a/m-a", "2:a/m-a"]);
    expect(await count(h.metrics, "gateway_fallbacks_total", { model: "m", result: "failure" })).toBe(0);
  });

  it("sends one trial to a half-open deployment even when two requests arrive together", async () => {
    const h = harness({}, [route("fast", [spec("a:x-a"), spec("b:x-b")], [], "lowest-latency")]);
    h.deps = { ...h.deps, balancer: createBalancer({ inFlight: h.health.inFlight, latencyMs: h.health.latencyMs, pricePerMtok: () => undefined }, () => 0.5) };
    const a = h.deployment("a/x-a");
    const b = h.deployment("b/x-b");
    h.health.started(a);
    h.health.succeeded(a, 10); // a is the fastest
    h.health.started(b);
    h.health.succeeded(b, 100);
    h.coolDown("a/x-a");
    h.clock.t += 30_000; // cooldown over: a may take one trial
    const req = h.request("fast");
    // Like the engine's attempts: the attempt starts (and takes the trial slot) as soon as it runs.
    const tracked: FailoverRequest<string> = {
      ...req,
      async run(c) {
        h.health.started(c.deployment);
        await new Promise((resolve) => setTimeout(resolve, 1));
        const value = await req.run(c);
        h.health.succeeded(c.deployment, 10);
        return value;
      },
    };
    await Promise.all([failover(h.deps, tracked), failover(h.deps, tracked)]);
    expect(h.calls.sort()).toEqual(["1:a/x-a", "1:b/x-b"]);
  });
});
