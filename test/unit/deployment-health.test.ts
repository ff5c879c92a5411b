import { describe, expect, it } from "vitest";
import type { ProviderRecord } from "../../src/providers/provider.ts";
import { createDeploymentHealth, type CircuitOptions } from "../../src/routing/deployment-health.ts";
import type { CircuitState } from "../../src/routing/model-route.ts";
import type { Deployment } from "../../src/routing/model-router.ts";

function deployment(name: string): Deployment {
  const provider: ProviderRecord = { name, type: "openai", baseUrl: "https://x.test", apiKey: "", modelNames: [], dropUnsupportedParams: false, createTime: new Date(0), updateTime: new Date(0) };
  return { id: `${name}/m`, provider, baseUrl: "https://x.test/v1", model: "m", weight: 1, rpm: undefined, tpm: undefined, supportsPrefill: false, declared: true };
}

const circuit: CircuitOptions = { failureThreshold: 3, cooldownMs: 1000, maxCooldownMs: 4000 };
const WALL = Date.UTC(2025, 0, 1);

/** A health tracker on a clock the test moves, recording its hooks. */
function setup(options: CircuitOptions = circuit) {
  const clock = { t: 10_000 };
  const states: [string, CircuitState][] = [];
  const cooldowns: string[] = [];
  const health = createDeploymentHealth(
    options,
    { onState: (d, s) => states.push([d.id, s]), onCooldown: (d) => cooldowns.push(d.id) },
    () => clock.t,
    () => WALL + clock.t,
  );
  /** One attempt that failed (as the engine reports it: started, then failed). */
  const fail = (d: Deployment, kind = "upstream_error") => {
    health.started(d);
    health.failed(d, kind);
  };
  const succeed = (d: Deployment, ms = 100) => {
    health.started(d);
    health.succeeded(d, ms);
  };
  const stateOf = (d: Deployment) => health.status([d], () => [])[0]?.state;
  return { clock, health, states, cooldowns, fail, succeed, stateOf };
}

describe("deployment health", () => {
  const d = deployment("a");
  const other = deployment("b");

  it("admits requests to a deployment it has never seen", () => {
    const { health, stateOf } = setup();
    expect(health.availability(d)).toEqual({ ok: true });
    expect(stateOf(d)).toBe("closed");
  });

  it("opens the circuit after failureThreshold failures in a row, and not before", () => {
    const { clock, health, fail, states, cooldowns } = setup();
    fail(d);
    fail(d);
    expect(health.availability(d)).toEqual({ ok: true });
    expect(states).toEqual([]);
    fail(d);
    expect(health.availability(d)).toEqual({ ok: false, reason: "cooldown", until: clock.t + 1000 });
    expect(states).toEqual([["a/m", "open"]]);
    expect(cooldowns).toEqual(["a/m"]);
    expect(health.availability(other)).toEqual({ ok: true });
  });

  it("counts only failures in a row: a success in between starts the count again", () => {
    const { health, fail, succeed } = setup();
    fail(d);
    fail(d);
    succeed(d);
    fail(d);
    fail(d);
    expect(health.availability(d).ok).toBe(true);
    fail(d);
    expect(health.availability(d).ok).toBe(false);
  });

  it("skips an open deployment for the whole cooldown, then lets a trial through", () => {
    const { clock, health, fail } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 999;
    expect(health.availability(d)).toMatchObject({ ok: false, reason: "cooldown" });
    clock.t += 1;
    expect(health.availability(d)).toEqual({ ok: true });
  });

  it("half-open after the cooldown admits exactly one trial at a time", () => {
    const { clock, health, fail, states, stateOf } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 1000;
    health.started(d);
    expect(stateOf(d)).toBe("half-open");
    expect(states.at(-1)).toEqual(["a/m", "half-open"]);
    // While the trial is under way, no second request goes.
    expect(health.availability(d)).toMatchObject({ ok: false, reason: "cooldown" });
    clock.t += 5000;
    expect(health.availability(d).ok).toBe(false);
  });

  it("closes the circuit when the trial succeeds", () => {
    const { clock, health, fail, states, stateOf } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 1000;
    health.started(d);
    health.succeeded(d, 80);
    expect(stateOf(d)).toBe("closed");
    expect(states.map(([, s]) => s)).toEqual(["open", "half-open", "closed"]);
    expect(health.availability(d)).toEqual({ ok: true });
    expect(health.status([d], () => [])[0]).toMatchObject({ consecutiveFailures: 0, lastError: "" });
  });

  it("reopens on a failed trial with the cooldown doubled each time, up to maxCooldownMs", () => {
    const { clock, health, fail, cooldowns } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    const cooldownsSeen: number[] = [];
    for (let round = 0; round < 4; round++) {
      const until = health.availability(d);
      if (until.ok) throw new Error("expected the circuit open");
      cooldownsSeen.push(until.until - clock.t);
      clock.t = until.until;
      fail(d); // the trial fails
    }
    expect(cooldownsSeen).toEqual([1000, 2000, 4000, 4000]);
    expect(cooldowns).toHaveLength(5);
  });

  it("starts again from the first cooldown after the circuit closed", () => {
    const { clock, health, fail, succeed } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 1000;
    fail(d); // reopened for 2000
    clock.t += 2000;
    succeed(d);
    for (let i = 0; i < 3; i++) fail(d);
    expect(health.availability(d)).toEqual({ ok: false, reason: "cooldown", until: clock.t + 1000 });
  });

  it("backOff (a 429 with Retry-After) skips the deployment for that long without counting a failure", () => {
    const { clock, health, cooldowns, stateOf } = setup();
    for (let i = 0; i < 5; i++) {
      health.started(d);
      health.backOff(d, 2);
    }
    expect(health.availability(d)).toEqual({ ok: false, reason: "wait", until: clock.t + 2000 });
    expect(stateOf(d)).toBe("closed");
    expect(health.status([d], () => [])[0]).toMatchObject({ consecutiveFailures: 0, inFlight: 0, lastError: "rate_limited" });
    expect(cooldowns).toHaveLength(5);
    clock.t += 1999;
    expect(health.availability(d).ok).toBe(false);
    clock.t += 1;
    expect(health.availability(d)).toEqual({ ok: true });
  });

  it("backOff never shortens a longer wait already asked for", () => {
    const { clock, health } = setup();
    health.backOff(d, 10);
    health.backOff(d, 1);
    expect(health.availability(d)).toMatchObject({ until: clock.t + 10_000 });
  });

  it("backOff during a half-open trial frees the trial slot once the wait is over", () => {
    const { clock, health, fail, stateOf } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 1000;
    health.started(d);
    health.backOff(d, 1);
    expect(health.availability(d)).toMatchObject({ ok: false, reason: "wait" });
    clock.t += 1000;
    expect(stateOf(d)).toBe("half-open");
    expect(health.availability(d)).toEqual({ ok: true });
  });

  it("released attempts (the caller's fault, or canceled) neither count as failures nor hold a request in flight", () => {
    const { health, fail } = setup();
    fail(d);
    fail(d);
    for (let i = 0; i < 5; i++) {
      health.started(d);
      health.released(d);
    }
    expect(health.availability(d)).toEqual({ ok: true });
    expect(health.inFlight(d)).toBe(0);
    expect(health.status([d], () => [])[0]).toMatchObject({ state: "closed", consecutiveFailures: 2 });
  });

  it("a released half-open trial lets the next request be the trial", () => {
    const { clock, health, fail } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 1000;
    health.started(d);
    expect(health.availability(d).ok).toBe(false);
    health.released(d);
    expect(health.availability(d)).toEqual({ ok: true });
  });

  it("a successful probe lets an open circuit try a request at once, one at a time", () => {
    const { clock, health, fail, stateOf } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 10;
    health.probed(d, true);
    expect(health.availability(d)).toEqual({ ok: true });
    expect(stateOf(d)).toBe("half-open");
    health.started(d);
    expect(health.availability(d).ok).toBe(false);
    health.succeeded(d, 50);
    expect(stateOf(d)).toBe("closed");
    expect(health.status([d], () => [])[0]?.lastProbeTime).toEqual(new Date(WALL + clock.t));
  });

  it("a successful probe leaves a closed circuit closed", () => {
    const { health, stateOf, states } = setup();
    health.probed(d, true);
    expect(stateOf(d)).toBe("closed");
    expect(states).toEqual([]);
    expect(health.availability(d)).toEqual({ ok: true });
  });

  it("a failed probe counts as a failure, alone or with failed requests", () => {
    const { health, fail, stateOf } = setup();
    health.probed(d, false);
    health.probed(d, false);
    expect(stateOf(d)).toBe("closed");
    health.probed(d, false);
    expect(stateOf(d)).toBe("open");
    expect(health.status([d], () => [])[0]).toMatchObject({ lastError: "probe_failed", consecutiveFailures: 3 });

    fail(other);
    fail(other);
    health.probed(other, false);
    expect(stateOf(other)).toBe("open");
  });

  it("a failed probe reopens a half-open circuit with no trial under way, with the cooldown doubled", () => {
    const { clock, health, fail } = setup();
    for (let i = 0; i < 3; i++) fail(d);
    clock.t += 10;
    health.probed(d, true); // open → half-open at once
    health.probed(d, false);
    expect(health.availability(d)).toEqual({ ok: false, reason: "cooldown", until: clock.t + 2000 });
  });

  it("counts requests in flight and never below zero", () => {
    const { health } = setup();
    health.started(d);
    health.started(d);
    health.started(d);
    expect(health.inFlight(d)).toBe(3);
    health.succeeded(d, 10);
    health.failed(d, "timeout");
    health.released(d);
    health.released(d);
    expect(health.inFlight(d)).toBe(0);
    expect(health.inFlight(other)).toBe(0);
  });

  it("keeps a moving average of latency, weighting the newest sample 0.3", () => {
    const { health, succeed } = setup();
    expect(health.latencyMs(d)).toBeUndefined();
    succeed(d, 100);
    expect(health.latencyMs(d)).toBe(100);
    succeed(d, 200);
    expect(health.latencyMs(d)).toBeCloseTo(130);
    succeed(d, 130);
    expect(health.latencyMs(d)).toBeCloseTo(130);
    // Failures do not move it.
    health.started(d);
    health.failed(d, "timeout");
    expect(health.latencyMs(d)).toBeCloseTo(130);
  });

  it("status() shows state, cooldown end as a wall-clock time, latency and the last error", () => {
    const { clock, health, fail, succeed } = setup();
    succeed(d, 101.4);
    for (let i = 0; i < 3; i++) fail(d, "timeout");
    clock.t += 250;
    health.started(other);
    const [a, b] = health.status([d, other], (x) => [`public-${x.provider.name}`]);
    expect(a).toEqual({
      id: "a/m",
      provider: "a",
      model: "m",
      servedAs: ["public-a"],
      state: "open",
      consecutiveFailures: 3,
      cooldownUntil: new Date(WALL + clock.t + 750),
      inFlight: 0,
      latencyMs: 101,
      lastError: "timeout",
      lastProbeTime: undefined,
    });
    expect(b).toMatchObject({ id: "b/m", state: "closed", consecutiveFailures: 0, cooldownUntil: undefined, inFlight: 1, latencyMs: undefined, lastError: "" });
  });

  it("status() shows a Retry-After wait as the cooldown end, and none once it is over", () => {
    const { clock, health } = setup();
    health.backOff(d, 3);
    expect(health.status([d], () => [])[0]?.cooldownUntil).toEqual(new Date(WALL + clock.t + 3000));
    clock.t += 3000;
    expect(health.status([d], () => [])[0]?.cooldownUntil).toBeUndefined();
  });

  it("status() of deployments it never saw is closed and empty", () => {
    const { health } = setup();
    expect(health.status([d], () => ["x"])).toEqual([
      { id: "a/m", provider: "a", model: "m", servedAs: ["x"], state: "closed", consecutiveFailures: 0, cooldownUntil: undefined, inFlight: 0, latencyMs: undefined, lastError: "", lastProbeTime: undefined },
    ]);
  });

  it("beyond 10,000 deployments it forgets the least recently used one, not a busy one", () => {
    const { health, succeed } = setup();
    const busy = deployment("busy");
    succeed(busy, 42);
    for (let i = 0; i < 9_999; i++) succeed(deployment(`idle-${i}`), 10);
    succeed(busy, 42); // the busy one is used again: now the most recent
    succeed(deployment("newcomer"), 10); // one over the bound
    expect(health.latencyMs(deployment("idle-0"))).toBeUndefined();
    expect(health.latencyMs(busy)).toBe(42);
  });
});
