import type { CircuitState, DeploymentStatus } from "./model-route.ts";
import type { Deployment } from "./model-router.ts";

/** When a deployment is taken out, and for how long. */
export interface CircuitOptions {
  /** Failures in a row that open the circuit. */
  readonly failureThreshold: number;
  /** First cooldown; each reopening doubles it. */
  readonly cooldownMs: number;
  /** Longest cooldown. */
  readonly maxCooldownMs: number;
}

/** What {@link DeploymentHealth.availability} says about a deployment. */
export type Availability =
  /** Closed circuit, or an open one whose cooldown is over (this request is its one trial). */
  | { readonly ok: true }
  /**
   * Not now, until `until` (a `now()` time): its circuit is open or a trial
   * is under way (`cooldown`), or the upstream asked to wait (`wait`).
   */
  | { readonly ok: false; readonly reason: "cooldown" | "wait"; readonly until: number };

/**
 * The passive health of every deployment: a circuit breaker per deployment
 * (closed → open after repeated failures → half-open trial after a cooldown
 * that grows on each reopening), requests in flight, and a moving average of
 * latency. State lives in this process; several replicas each learn it on
 * their own, which is what a breaker wants (each sees its own path to the
 * upstream).
 */
export interface DeploymentHealth {
  /** Whether a request may go to the deployment now. A half-open circuit admits one trial at a time. */
  availability(d: Deployment): Availability;
  /** An attempt starts (counts in flight; takes the trial slot of a half-open circuit). */
  started(d: Deployment): void;
  /** The attempt succeeded; `latencyMs` is its time to first token (streams) or to the answer. */
  succeeded(d: Deployment, latencyMs: number): void;
  /**
   * The attempt failed in a way that says the deployment is unwell; with
   * `retryAfterSeconds` (a 503 or 529 that says when to come back) it is
   * also skipped until then.
   */
  failed(d: Deployment, errorKind: string, retryAfterSeconds?: number): void;
  /** The upstream asked to wait (429 with Retry-After): skipped until then, without counting as a failure. */
  backOff(d: Deployment, seconds: number): void;
  /** The attempt ended without a verdict on the deployment (the caller's fault, or canceled). */
  released(d: Deployment): void;
  /** An active probe's result: success lets an open circuit try a request at once; failure counts as a failure. */
  probed(d: Deployment, ok: boolean): void;
  inFlight(d: Deployment): number;
  /** The moving average latency, undefined before the first success. */
  latencyMs(d: Deployment): number | undefined;
  /** State of the given deployments, for the admin API. */
  status(deployments: readonly Deployment[], servedAs: (d: Deployment) => readonly string[]): DeploymentStatus[];
}

interface Entry {
  state: CircuitState;
  failures: number;
  /** Times the circuit opened since it was last closed. */
  opens: number;
  openUntil: number;
  waitUntil: number;
  trial: boolean;
  inFlight: number;
  latency: number | undefined;
  lastError: string;
  lastProbe: number | undefined;
}

/** Weight of the newest sample in the latency moving average. */
const ALPHA = 0.3;
/** Most deployments tracked; the least recently used closed ones are forgotten beyond it (pattern-routed names are unbounded). */
const MAX_ENTRIES = 10_000;

/** Creates the {@link DeploymentHealth}; `onChange` hears every circuit transition and cooldown. */
export function createDeploymentHealth(
  options: CircuitOptions,
  hooks: { onState?(d: Deployment, state: CircuitState): void; onCooldown?(d: Deployment): void } = {},
  now: () => number = () => performance.now(),
  wallClock: () => number = Date.now,
): DeploymentHealth {
  const entries = new Map<string, Entry>();

  /** The deployment's entry, moved to the end of the map: the map stays in least recently used order. */
  function entry(d: Deployment): Entry {
    let e = entries.get(d.id);
    if (e) {
      entries.delete(d.id);
    } else {
      if (entries.size >= MAX_ENTRIES) {
        const t = now();
        for (const [id, old] of entries) {
          if (old.state === "closed" && old.inFlight === 0 && old.waitUntil <= t) {
            entries.delete(id);
            break;
          }
        }
      }
      e = { state: "closed", failures: 0, opens: 0, openUntil: 0, waitUntil: 0, trial: false, inFlight: 0, latency: undefined, lastError: "", lastProbe: undefined };
    }
    entries.set(d.id, e);
    return e;
  }

  function setState(d: Deployment, e: Entry, state: CircuitState): void {
    if (e.state === state) return;
    e.state = state;
    hooks.onState?.(d, state);
  }

  function open(d: Deployment, e: Entry): void {
    e.opens++;
    const cooldown = Math.min(options.maxCooldownMs, options.cooldownMs * 2 ** (e.opens - 1));
    e.openUntil = now() + cooldown;
    e.trial = false;
    setState(d, e, "open");
    hooks.onCooldown?.(d);
  }

  return {
    availability(d) {
      const e = entries.get(d.id);
      if (!e) return { ok: true };
      const t = now();
      if (e.waitUntil > t) return { ok: false, reason: "wait", until: e.waitUntil };
      if (e.state === "closed") return { ok: true };
      if (e.state === "open" && t < e.openUntil) return { ok: false, reason: "cooldown", until: e.openUntil };
      // Cooldown over (or half-open): one trial at a time.
      return e.trial ? { ok: false, reason: "cooldown", until: t + options.cooldownMs } : { ok: true };
    },
    started(d) {
      const e = entry(d);
      e.inFlight++;
      if (e.state === "open" && now() >= e.openUntil) setState(d, e, "half-open");
      if (e.state === "half-open") e.trial = true;
    },
    succeeded(d, latencyMs) {
      const e = entry(d);
      e.inFlight = Math.max(0, e.inFlight - 1);
      e.latency = e.latency === undefined ? latencyMs : ALPHA * latencyMs + (1 - ALPHA) * e.latency;
      e.failures = 0;
      e.opens = 0;
      e.trial = false;
      e.lastError = "";
      setState(d, e, "closed");
    },
    failed(d, errorKind, retryAfterSeconds) {
      const e = entry(d);
      e.inFlight = Math.max(0, e.inFlight - 1);
      e.failures++;
      e.lastError = errorKind;
      if (retryAfterSeconds !== undefined && retryAfterSeconds > 0) {
        e.waitUntil = Math.max(e.waitUntil, now() + retryAfterSeconds * 1000);
        hooks.onCooldown?.(d);
      }
      if (e.state === "half-open" || (e.state === "closed" && e.failures >= options.failureThreshold)) open(d, e);
    },
    backOff(d, seconds) {
      const e = entry(d);
      e.inFlight = Math.max(0, e.inFlight - 1);
      e.waitUntil = Math.max(e.waitUntil, now() + seconds * 1000);
      e.lastError = "rate_limited";
      if (e.state === "half-open") e.trial = false;
      hooks.onCooldown?.(d);
    },
    released(d) {
      const e = entry(d);
      e.inFlight = Math.max(0, e.inFlight - 1);
      if (e.state === "half-open") e.trial = false;
    },
    probed(d, ok) {
      const e = entry(d);
      e.lastProbe = wallClock();
      if (ok) {
        if (e.state === "open") {
          e.openUntil = now();
          setState(d, e, "half-open");
        }
        return;
      }
      e.failures++;
      e.lastError = "probe_failed";
      if (e.state === "closed" && e.failures >= options.failureThreshold) open(d, e);
      else if (e.state === "half-open" && !e.trial) open(d, e);
    },
    inFlight: (d) => entries.get(d.id)?.inFlight ?? 0,
    latencyMs: (d) => entries.get(d.id)?.latency,
    status(deployments, servedAs) {
      const t = now();
      const wall = wallClock();
      return deployments.map((d) => {
        const e = entries.get(d.id);
        const until = e ? Math.max(e.state === "open" ? e.openUntil : 0, e.waitUntil) : 0;
        return {
          id: d.id,
          provider: d.provider.name,
          model: d.model,
          servedAs: servedAs(d),
          state: e?.state ?? "closed",
          consecutiveFailures: e?.failures ?? 0,
          cooldownUntil: until > t ? new Date(wall + (until - t)) : undefined,
          inFlight: e?.inFlight ?? 0,
          latencyMs: e?.latency === undefined ? undefined : Math.round(e.latency),
          lastError: e?.lastError ?? "",
          lastProbeTime: e?.lastProbe === undefined ? undefined : new Date(e.lastProbe),
        };
      });
    },
  };
}
