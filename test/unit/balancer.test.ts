import { describe, expect, it } from "vitest";
import type { ProviderRecord } from "../../src/providers/provider.ts";
import { createBalancer, EXPLORATION, type BalancerInputs } from "../../src/routing/balancer.ts";
import { BALANCING_STRATEGIES, type BalancingStrategy } from "../../src/routing/model-route.ts";
import type { Deployment, ModelPlan } from "../../src/routing/model-router.ts";

function provider(name: string): ProviderRecord {
  return { name, type: "openai", baseUrl: "https://x.test", apiKey: "", modelNames: [], dropUnsupportedParams: false, createTime: new Date(0), updateTime: new Date(0) };
}

function deployment(name: string, weight = 1): Deployment {
  return { id: `${name}/m`, provider: provider(name), baseUrl: "https://x.test/v1", model: "m", weight, rpm: undefined, tpm: undefined, supportsPrefill: false, declared: true };
}

function plan(name: string, deployments: Deployment[]): ModelPlan {
  return { name, match: "route", deployments, strategy: undefined, fallbacks: [], firstTokenTimeoutMs: undefined, stallTimeoutMs: undefined, continueOnFailure: false };
}

/** Inputs read from plain tables keyed by provider name. */
function inputs(t: { inFlight?: Record<string, number>; latency?: Record<string, number>; price?: Record<string, number> } = {}): BalancerInputs {
  return {
    inFlight: (d) => t.inFlight?.[d.provider.name] ?? 0,
    latencyMs: (d) => t.latency?.[d.provider.name],
    pricePerMtok: (d) => t.price?.[d.provider.name],
  };
}

const names = (ds: readonly Deployment[]) => ds.map((d) => d.provider.name);

/** A seeded PRNG (mulberry32), so distributions are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The first pick of `n` requests, counted by provider name. */
function firstPicks(order: () => Deployment[], n: number): { counts: Record<string, number>; sequence: string[] } {
  const counts: Record<string, number> = {};
  const sequence: string[] = [];
  for (let i = 0; i < n; i++) {
    const first = (order()[0] as Deployment).provider.name;
    counts[first] = (counts[first] ?? 0) + 1;
    sequence.push(first);
  }
  return { counts, sequence };
}

function longestRun(sequence: readonly string[], name: string): number {
  let longest = 0;
  let run = 0;
  for (const s of sequence) {
    run = s === name ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

describe("balancer", () => {
  const a = deployment("a");
  const b = deployment("b");
  const c = deployment("c");

  it("round-robin rotates the deployments exactly, one step per request", () => {
    const balancer = createBalancer(inputs());
    const p = plan("m", [a, b, c]);
    const orders = Array.from({ length: 4 }, () => names(balancer.order(p, "round-robin")));
    expect(orders).toEqual([
      ["a", "b", "c"],
      ["b", "c", "a"],
      ["c", "a", "b"],
      ["a", "b", "c"],
    ]);
    expect(firstPicks(() => balancer.order(p, "round-robin"), 300).counts).toEqual({ a: 100, b: 100, c: 100 });
  });

  it("keeps a rotation per model, so traffic to one model does not skew another", () => {
    const balancer = createBalancer(inputs());
    const m = plan("m", [a, b]);
    const n = plan("n", [a, b, c]);
    const firstOfM: string[] = [];
    for (let i = 0; i < 6; i++) {
      firstOfM.push(names(balancer.order(m, "round-robin"))[0] as string);
      balancer.order(n, "round-robin");
      balancer.order(n, "round-robin");
    }
    expect(firstOfM).toEqual(["a", "b", "a", "b", "a", "b"]);
  });

  it("weighted 3:1 sends exactly 75% / 25% of 400 requests, never more than 3 in a row to the heavy one", () => {
    const balancer = createBalancer(inputs());
    const p = plan("m", [deployment("heavy", 3), deployment("light", 1)]);
    const { counts, sequence } = firstPicks(() => balancer.order(p, "weighted"), 400);
    expect(counts).toEqual({ heavy: 300, light: 100 });
    expect(longestRun(sequence, "heavy")).toBeLessThanOrEqual(3);
    expect(longestRun(sequence, "light")).toBe(1);
    // Exact over every cycle of 4, not only over the whole run.
    for (let i = 0; i < 400; i += 4) expect(sequence.slice(i, i + 4).filter((s) => s === "light")).toHaveLength(1);
  });

  it("weighted 5:3:2 holds the weights exactly over 1000 requests and interleaves them", () => {
    const balancer = createBalancer(inputs());
    const p = plan("m", [deployment("x", 5), deployment("y", 3), deployment("z", 2)]);
    const { counts, sequence } = firstPicks(() => balancer.order(p, "weighted"), 1000);
    expect(counts).toEqual({ x: 500, y: 300, z: 200 });
    expect(longestRun(sequence, "x")).toBeLessThanOrEqual(2);
    expect(longestRun(sequence, "z")).toBe(1);
  });

  it("weighted lists the others after the pick, heaviest first, as the failover order", () => {
    const balancer = createBalancer(inputs());
    const p = plan("m", [deployment("x", 1), deployment("y", 5), deployment("z", 3)]);
    const first = names(balancer.order(p, "weighted"));
    expect(first[0]).toBe("y");
    expect(first.slice(1)).toEqual(["z", "x"]);
  });

  it("least-busy picks the deployment with the fewest requests in flight, then the next least busy", () => {
    const balancer = createBalancer(inputs({ inFlight: { a: 3, b: 0, c: 1 } }));
    const p = plan("m", [a, b, c]);
    for (let i = 0; i < 5; i++) expect(names(balancer.order(p, "least-busy"))).toEqual(["b", "c", "a"]);
  });

  it("least-busy spreads requests evenly when every deployment is idle", () => {
    const balancer = createBalancer(inputs());
    const p = plan("m", [a, b, c]);
    expect(firstPicks(() => balancer.order(p, "least-busy"), 300).counts).toEqual({ a: 100, b: 100, c: 100 });
  });

  it("lowest-latency picks the lowest moving average when it does not explore", () => {
    const balancer = createBalancer(inputs({ latency: { a: 300, b: 100, c: 200 } }), () => 0.5);
    const p = plan("m", [a, b, c]);
    for (let i = 0; i < 5; i++) expect(names(balancer.order(p, "lowest-latency"))).toEqual(["b", "c", "a"]);
  });

  it("lowest-latency tries a deployment with no measurement before the measured ones", () => {
    const balancer = createBalancer(inputs({ latency: { a: 300, b: 100 } }), () => 0.5);
    const p = plan("m", [a, b, c]);
    expect(names(balancer.order(p, "lowest-latency"))).toEqual(["c", "b", "a"]);
  });

  it("lowest-latency explores: a draw under the exploration share puts a random deployment first", () => {
    const draws = [EXPLORATION / 2, 0.99];
    const balancer = createBalancer(inputs({ latency: { a: 300, b: 100, c: 200 } }), () => draws.shift() ?? 0.5);
    const p = plan("m", [a, b, c]);
    // The second draw points at the last (slowest) deployment, which goes first; the rest keep their order.
    expect(names(balancer.order(p, "lowest-latency"))).toEqual(["a", "b", "c"]);
    expect(names(balancer.order(p, "lowest-latency"))).toEqual(["b", "c", "a"]);
  });

  it("lowest-latency sends most requests to the fastest and still measures a slow deployment again", () => {
    const balancer = createBalancer(inputs({ latency: { a: 900, b: 100, c: 400 } }), seeded(42));
    const p = plan("m", [a, b, c]);
    const { counts } = firstPicks(() => balancer.order(p, "lowest-latency"), 3000);
    const elsewhere = 3000 - (counts.b ?? 0);
    // A random pick among all three: EXPLORATION × 2/3 of requests land elsewhere (about 200).
    expect(elsewhere).toBeGreaterThan(3000 * EXPLORATION * (2 / 3) * 0.6);
    expect(elsewhere).toBeLessThan(3000 * EXPLORATION * 1.2);
    // The slowest, which may have recovered, is measured again regularly.
    expect(counts.a ?? 0).toBeGreaterThan(50);
    expect(counts.c ?? 0).toBeGreaterThan(50);
  });

  it("lowest-cost picks the cheapest, and puts deployments without a price last", () => {
    const balancer = createBalancer(inputs({ price: { a: 10, c: 2 } }));
    const p = plan("m", [a, b, c]);
    for (let i = 0; i < 4; i++) expect(names(balancer.order(p, "lowest-cost"))).toEqual(["c", "a", "b"]);
  });

  it("lowest-cost spreads requests evenly over the deployments that share the lowest price", () => {
    const balancer = createBalancer(inputs({ price: { a: 5, b: 5, c: 9, d: 9 } }));
    const p = plan("m", [a, b, c, deployment("d")]);
    const { counts } = firstPicks(() => balancer.order(p, "lowest-cost"), 400);
    expect(counts).toEqual({ a: 200, b: 200 });
  });

  it("least-busy spreads requests evenly over the deployments that are equally idle", () => {
    const balancer = createBalancer(inputs({ inFlight: { c: 4, d: 4 } }));
    const p = plan("m", [a, b, c, deployment("d")]);
    const { counts } = firstPicks(() => balancer.order(p, "least-busy"), 400);
    expect(counts).toEqual({ a: 200, b: 200 });
  });

  it.each(BALANCING_STRATEGIES)("%s lists every deployment once, so the rest is a complete failover order", (strategy: BalancingStrategy) => {
    const balancer = createBalancer(inputs({ inFlight: { b: 2 }, latency: { a: 50, c: 10 }, price: { b: 1 } }), seeded(7));
    const p = plan("m", [a, b, c, deployment("d", 2)]);
    for (let i = 0; i < 50; i++) expect(names(balancer.order(p, strategy)).sort()).toEqual(["a", "b", "c", "d"]);
  });

  it.each(BALANCING_STRATEGIES)("%s always picks the only deployment of a model", (strategy: BalancingStrategy) => {
    const balancer = createBalancer(inputs(), () => 0);
    const p = plan("solo", [a]);
    for (let i = 0; i < 3; i++) expect(balancer.order(p, strategy)).toEqual([a]);
  });
});
