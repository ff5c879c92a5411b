import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { Balancer } from "./balancer.ts";
import type { DeploymentHealth } from "./deployment-health.ts";
import type { DeploymentLimits } from "./deployment-limits.ts";
import type { BalancingStrategy } from "./model-route.ts";
import type { Deployment, ModelPlan, ModelRouter } from "./model-router.ts";
import { backoffMs, classify, type RetryOptions } from "./retry-policy.ts";

/** Routing settings with gateway-wide defaults. */
export interface RoutingOptions extends RetryOptions {
  /** The strategy of models whose route names none. */
  readonly strategy: BalancingStrategy;
  /** Longest wait for a stream's first token before failing over. */
  readonly firstTokenTimeoutMs: number;
  /** Longest silence inside a stream. */
  readonly stallTimeoutMs: number;
  /** Longest wait for a deployment's rate limit to free up before answering 429. */
  readonly rateLimitWaitMs: number;
}

/** One place to send the request: a deployment of a model in the chain. */
export interface Candidate {
  readonly plan: ModelPlan;
  readonly deployment: Deployment;
  /** 1 for the first attempt of the request. */
  readonly attempt: number;
  /** 0 for the requested model, n for its n-th fallback. */
  readonly fallback: number;
}

/** What {@link failover} needs. */
export interface FailoverDeps {
  readonly router: ModelRouter;
  readonly balancer: Balancer;
  readonly health: DeploymentHealth;
  readonly limits: DeploymentLimits;
  readonly options: RoutingOptions;
  readonly metrics: GatewayMetrics;
  /** Metric labels of a plan's model and of a deployment's. */
  readonly labels: { model(plan: ModelPlan): string; deployment(d: Deployment): string };
  readonly now: () => number;
  /** Waits `ms`, or rejects when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** One request's way through its models and deployments. */
export interface FailoverRequest<T> {
  /** The requested model, resolved. */
  readonly plan: ModelPlan;
  /** Models to try after it, in order. */
  readonly fallbacks: readonly string[];
  /** `now()` at arrival; the deadline counts from it. */
  readonly startedAt: number;
  readonly signal: AbortSignal;
  /** Why the deployment cannot take this request (a parameter it cannot honour), or undefined. */
  refuse(c: Omit<Candidate, "attempt">): GatewayError | undefined;
  /** One attempt: resolves with its result, or throws its error. */
  run(c: Candidate): Promise<T>;
}

/** The attempt that served the request. */
export interface Served<T> {
  readonly value: T;
  readonly candidate: Candidate;
  readonly attempts: number;
}

function wait(until: number, now: number): number {
  return Math.max(0, until - now);
}

/**
 * Serves a request through its deployments and fallback models: the
 * balancer orders each model's deployments; transient failures are retried
 * on the same deployment with backoff (honouring `Retry-After`), then fail
 * over to the next deployment, then to the fallback models; errors the
 * caller caused are answered at once; a context-length error skips to the
 * fallbacks. Deployments in cooldown are skipped, but tried as a last resort
 * when nothing else could answer; deployments at their rate limit are
 * skipped, and when every one is, the request waits up to a bound, then is
 * answered 429 with `Retry-After`.
 * @throws GatewayError of the last failure.
 */
export async function failover<T>(deps: FailoverDeps, req: FailoverRequest<T>): Promise<Served<T>> {
  const { health, limits, options, metrics, now } = deps;
  const deadline = req.startedAt + options.deadlineMs;
  let attempts = 0;
  let lastError: GatewayError | undefined;
  let refusal: GatewayError | undefined;
  /** Soonest time a rate-limited (or asked-to-wait) deployment frees up. */
  let limitedUntil = Infinity;
  const coolingDown: { plan: ModelPlan; d: Deployment; fallback: number; until: number }[] = [];
  const tried = new Set<string>();
  /** Models that refused the request for its length: none of their deployments may get it again. */
  const tooLong = new Set<string>();
  let triedFallback = false;

  /**
   * Tries one deployment, retrying transient failures; returns the verdict
   * that ended it. `lastResort` sends to a deployment that is cooling down.
   */
  async function tryDeployment(plan: ModelPlan, d: Deployment, fallback: number, lastResort = false): Promise<{ served: Served<T> } | { next: "deployment" | "model" }> {
    for (let retry = 0; ; retry++) {
      if (attempts >= options.maxAttempts || now() >= deadline) return { next: "model" };
      const limit = await limits.admit(d);
      if (!limit.ok) {
        metrics.deploymentRateLimited.inc({ provider: d.provider.name, model: deps.labels.deployment(d) });
        limitedUntil = Math.min(limitedUntil, now() + limit.retryAfterSeconds * 1000);
        return { next: "deployment" };
      }
      // Checked again after the wait above: another request may have taken a half-open circuit's one trial.
      if (!lastResort && !health.availability(d).ok) return { next: "deployment" };
      const candidate: Candidate = { plan, deployment: d, attempt: ++attempts, fallback };
      tried.add(d.id);
      if (fallback > 0) triedFallback = true;
      try {
        return { served: { value: await req.run(candidate), candidate, attempts } };
      } catch (err) {
        const e = toGatewayError(err);
        if (req.signal.aborted) throw withAttempts(new GatewayError("canceled", "the client went away", { cause: e }), attempts);
        lastError = e;
        const verdict = classify(e);
        if (verdict === "return") throw withAttempts(e, attempts);
        if (verdict === "next-model") {
          tooLong.add(plan.name);
          return { next: "model" };
        }
        // No retry once the deployment's circuit has opened: fail over.
        const state = health.availability(d);
        if (verdict === "next-deployment" || retry >= options.retriesPerDeployment || (!state.ok && state.reason === "cooldown")) break;
        const ms = backoffMs(retry + 1, e.retryAfterSeconds, options);
        if (ms === undefined) {
          // The upstream asked for longer than we wait here: skip it until then.
          if (e.retryAfterSeconds !== undefined) limitedUntil = Math.min(limitedUntil, now() + e.retryAfterSeconds * 1000);
          break;
        }
        if (now() + ms >= deadline || attempts >= options.maxAttempts) break;
        metrics.retries.inc({ provider: d.provider.name, model: deps.labels.model(plan) });
        await deps.sleep(ms, req.signal);
      }
    }
    metrics.failovers.inc({ provider: d.provider.name, model: deps.labels.model(plan) });
    return { next: "deployment" };
  }

  async function tryChain(): Promise<Served<T> | undefined> {
    const models = [req.plan.name, ...req.fallbacks];
    for (let i = 0; i < models.length; i++) {
      let plan: ModelPlan;
      try {
        plan = i === 0 ? req.plan : deps.router.resolve(models[i] as string);
      } catch {
        continue; // A fallback that no longer routes anywhere is skipped.
      }
      for (const d of deps.balancer.order(plan, plan.strategy ?? options.strategy)) {
        if (tried.has(d.id)) continue;
        const refused = req.refuse({ plan, deployment: d, fallback: i });
        if (refused) {
          refusal ??= refused;
          continue;
        }
        const available = health.availability(d);
        if (!available.ok) {
          // Cooling down, or asked by the upstream to wait: skipped while others can answer.
          coolingDown.push({ plan, d, fallback: i, until: available.until });
          continue;
        }
        const result = await tryDeployment(plan, d, i);
        if ("served" in result) return result.served;
        if (result.next === "model") break;
      }
      if (attempts >= options.maxAttempts || now() >= deadline) return undefined;
    }
    return undefined;
  }

  let served = await tryChain();
  // Every deployment was busy at its limit and nothing failed: wait for the soonest, within the bound and the deadline.
  if (!served && attempts === 0 && coolingDown.length === 0 && limitedUntil !== Infinity) {
    const ms = wait(limitedUntil, now());
    if (ms <= options.rateLimitWaitMs && now() + ms < deadline) {
      await deps.sleep(ms, req.signal);
      limitedUntil = Infinity;
      served = await tryChain();
    }
  }
  // Last resort: deployments in cooldown, soonest to recover first. Never cooled down to nothing.
  if (!served) {
    for (const c of coolingDown.sort((a, b) => a.until - b.until)) {
      if (tried.has(c.d.id) || tooLong.has(c.plan.name)) continue;
      const result = await tryDeployment(c.plan, c.d, c.fallback, true);
      if ("served" in result) {
        served = result.served;
        break;
      }
    }
  }
  if (served) {
    if (served.candidate.fallback > 0) metrics.fallbacks.inc({ model: deps.labels.model(req.plan), result: "success" });
    return served;
  }
  if (triedFallback) metrics.fallbacks.inc({ model: deps.labels.model(req.plan), result: "failure" });
  throw withAttempts(finalError(), attempts);

  function finalError(): GatewayError {
    if (lastError) return lastError;
    if (refusal) return refusal;
    if (limitedUntil !== Infinity) {
      return new GatewayError("rate_limited", `every deployment of '${req.plan.name}' is at its rate limit`, {
        code: "rate_limit_exceeded",
        retryAfterSeconds: Math.max(1, Math.ceil(wait(limitedUntil, now()) / 1000)),
      });
    }
    return new GatewayError("upstream_unavailable", `no deployment of '${req.plan.name}' could take the request within the attempt and time limits`);
  }
}

function withAttempts(e: GatewayError, attempts: number): GatewayError {
  e.attempts = attempts;
  return e;
}
