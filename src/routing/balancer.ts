import type { BalancingStrategy } from "./model-route.ts";
import type { Deployment, ModelPlan } from "./model-router.ts";

/** What the strategies read about deployments. */
export interface BalancerInputs {
  inFlight(d: Deployment): number;
  /** Moving average latency; undefined before a success. */
  latencyMs(d: Deployment): number | undefined;
  /** USD per million tokens (input plus output), undefined when no price is known. */
  pricePerMtok(d: Deployment): number | undefined;
}

/**
 * Orders a model's deployments for one request: the first is the one the
 * strategy picks, the rest are the order of failover.
 */
export interface Balancer {
  order(plan: ModelPlan, strategy: BalancingStrategy): Deployment[];
}

/** Share of requests that the lowest-latency strategy sends to a random deployment, so a recovered one is measured again. */
export const EXPLORATION = 0.1;

/** Rotates `list` to start at `start`. */
function rotate<T>(list: readonly T[], start: number): T[] {
  const n = list.length;
  const out: T[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = list[(start + i) % n] as T;
  return out;
}

/**
 * Creates the balancer. Per model it keeps a round-robin counter and the
 * smooth weighted round-robin state (nginx's algorithm: each pick adds every
 * weight to its current value, takes the largest, and subtracts the total
 * from it), so weights hold exactly over every cycle, without clumping.
 * Deployments that tie for the best in the other strategies take turns.
 */
export function createBalancer(inputs: BalancerInputs, random: () => number = Math.random): Balancer {
  const counters = new Map<string, number>();
  const weights = new Map<string, Map<string, number>>();

  function next(model: string): number {
    const n = counters.get(model) ?? 0;
    counters.set(model, (n + 1) % Number.MAX_SAFE_INTEGER);
    return n;
  }

  function weighted(plan: ModelPlan, ring: Deployment[]): Deployment[] {
    let current = weights.get(plan.name);
    if (!current) {
      current = new Map();
      weights.set(plan.name, current);
    }
    let total = 0;
    let best: Deployment | undefined;
    let bestValue = -Infinity;
    for (const d of plan.deployments) {
      const v = (current.get(d.id) ?? 0) + d.weight;
      current.set(d.id, v);
      total += d.weight;
      if (v > bestValue) (best = d), (bestValue = v);
    }
    const chosen = best as Deployment;
    current.set(chosen.id, bestValue - total);
    // The rest by weight, heaviest first (ties in round-robin order).
    const rest = ring.filter((d) => d !== chosen).sort((a, b) => b.weight - a.weight);
    return [chosen, ...rest];
  }

  /**
   * Sorts by `key`, lowest first, with the deployments that tie for the
   * lowest taking turns (the model's round-robin counter); later ties keep
   * the declared order.
   */
  function byKey(ds: readonly Deployment[], turn: number, key: (d: Deployment) => number): Deployment[] {
    const sorted = [...ds].sort((a, b) => key(a) - key(b));
    const best = key(sorted[0] as Deployment);
    let tied = 1;
    while (tied < sorted.length && key(sorted[tied] as Deployment) === best) tied++;
    if (tied === 1) return sorted;
    return [...rotate(sorted.slice(0, tied), turn % tied), ...sorted.slice(tied)];
  }

  return {
    order(plan, strategy) {
      const ds = plan.deployments;
      if (ds.length === 1) return [ds[0] as Deployment];
      const turn = next(plan.name);
      const ring = rotate(ds, turn % ds.length);
      switch (strategy) {
        case "round-robin":
          return ring;
        case "weighted":
          return weighted(plan, ring);
        case "least-busy":
          return byKey(ds, turn, inputs.inFlight);
        case "lowest-latency": {
          // Unmeasured deployments first (their latency is unknown), then fastest.
          const sorted = ring.sort((a, b) => (inputs.latencyMs(a) ?? -1) - (inputs.latencyMs(b) ?? -1));
          if (random() < EXPLORATION) {
            const i = Math.floor(random() * sorted.length);
            const [explored] = sorted.splice(i, 1);
            sorted.unshift(explored as Deployment);
          }
          return sorted;
        }
        case "lowest-cost":
          // Unpriced deployments last: their cost is unknown.
          return byKey(ds, turn, (d) => inputs.pricePerMtok(d) ?? Infinity);
        default: {
          const never: never = strategy;
          return never;
        }
      }
    },
  };
}
