import { type BenchContext, rotated, settle, watched } from "../bench-context.ts";
import type { SystemName } from "../bench-config.ts";
import type { RateResult } from "../load-protocol.ts";
import type { SystemUnderTest } from "../systems.ts";
import { FrontierSearch, rateOf } from "./frontier-search.ts";
import { UNARY_BODY } from "./latency.ts";

/** One probe at one rate. */
export interface Probe {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  /** p99 minus direct's p99 at the same rate. */
  readonly addedP99: number;
  readonly errorRate: number;
  readonly achievedRate: number;
  readonly passed: boolean;
  /** Why it failed: the bound, errors, or the load side (load generator or fake) falling behind. */
  readonly reason?: "tail" | "errors" | "load";
  readonly systemCores: number | undefined;
  readonly loadgenCores: number;
  readonly fakeCores: number;
  readonly loadgenLagP99: number;
}

/** One system's throughput frontier. */
export interface FrontierRow {
  readonly system: SystemName;
  /** Highest rate probed at which added p99 stayed under the bound with < 0.1% errors; 0 when none. */
  readonly rate: number;
  readonly atFrontier: Probe | undefined;
  /** The lowest failing probe, or undefined when the search reached the maximum rate. */
  readonly beyond: Probe | undefined;
  /** Whether the first failure came from the load side rather than the system. */
  readonly loadLimited: boolean;
  readonly probes: readonly Probe[];
}

/** The frontier of every system but direct, with the direct reference probes. */
export interface FrontierResult {
  readonly rows: readonly FrontierRow[];
  readonly direct: readonly Probe[];
}

/**
 * Throughput frontier with a 20 ms upstream: for each system, an open-loop
 * search over request rates for the highest one at which p99 minus direct's
 * p99 at the same rate stays under the bound (5 ms) with < 0.1% errors. The
 * systems' searches advance in lockstep, rotated, so noise hits all alike.
 * When direct itself cannot hold a rate (the load generator falls behind, or
 * it and the fake together use 90% of their core) no system is judged
 * there: the step fails, flagged as a load-side limit. Each probe measures
 * at least 2,000 requests (up to twice `measureMs`).
 */
export async function runFrontier(ctx: BenchContext): Promise<FrontierResult> {
  const { delayMs, warmupMs, measureMs, boundMs, startRate, maxRate } = ctx.config.frontier;
  await ctx.fake.setMode({ delayMs });
  const direct = ctx.systems.find((s) => s.name === "direct")!;
  const others = ctx.systems.filter((s) => s.name !== "direct");
  const connections = 1024;
  const probeAt = async (system: SystemUnderTest, rate: number) => {
    const span = Math.min(2 * measureMs, Math.max(measureMs, (2000 / rate) * 1000));
    const { result, usage } = await watched(ctx, system, () => ctx.load.run({ kind: "rate", target: system.target, body: UNARY_BODY, rate, warmupMs, measureMs: span, connections }));
    await settle(200);
    return { result, usage };
  };
  // Latency counts from the scheduled send, so a late load generator shows in direct's tail as well; only a gross lag disqualifies a probe.
  const loadBehind = (r: RateResult, rate: number) => r.achievedRate < 0.97 * rate || r.lag.p99 > boundMs;
  const directAt = new Map<number, Probe>();
  const referenceAt = async (k: number): Promise<Probe> => {
    const cached = directAt.get(k);
    if (cached) return cached;
    const rate = rateOf(k);
    const { result: r, usage } = await probeAt(direct, rate);
    const errorRate = r.errors / Math.max(1, r.sent);
    const load = loadBehind(r, rate) || r.cores + usage.fake.cores > 0.9 || errorRate >= 0.001;
    const probe: Probe = { rate, p50: r.latency.p50, p99: r.latency.p99, addedP99: 0, errorRate, achievedRate: r.achievedRate, passed: !load, reason: load ? "load" : undefined, systemCores: undefined, loadgenCores: r.cores, fakeCores: usage.fake.cores, loadgenLagP99: r.lag.p99 };
    ctx.log(`  direct @ ${rate}/s: p99 ${r.latency.p99.toFixed(2)} ms, errors ${(errorRate * 100).toFixed(2)}%, load gen ${(r.cores * 100).toFixed(0)}% + fake ${(usage.fake.cores * 100).toFixed(0)}% of core 0${load ? " (load side saturated)" : ""}`);
    directAt.set(k, probe);
    return probe;
  };
  const searches = new Map(others.map((s) => [s.name, { search: new FrontierSearch(startRate, maxRate), probes: [] as Probe[] }]));
  for (let step = 0; ; step++) {
    let probed = false;
    for (const system of rotated(others, step)) {
      const state = searches.get(system.name)!;
      const k = state.search.next();
      if (k === undefined) continue;
      probed = true;
      const ref = await referenceAt(k);
      const rate = rateOf(k);
      if (!ref.passed) {
        state.search.report(k, false);
        continue;
      }
      const { result: r, usage } = await probeAt(system, rate);
      const errorRate = r.errors / Math.max(1, r.sent);
      const addedP99 = r.latency.p99 - ref.p99;
      const reason = loadBehind(r, rate) ? "load" : errorRate >= 0.001 ? "errors" : addedP99 >= boundMs ? "tail" : undefined;
      const probe: Probe = { rate, p50: r.latency.p50, p99: r.latency.p99, addedP99, errorRate, achievedRate: r.achievedRate, passed: reason === undefined, reason, systemCores: usage.system?.cores, loadgenCores: r.cores, fakeCores: usage.fake.cores, loadgenLagP99: r.lag.p99 };
      state.probes.push(probe);
      state.search.report(k, probe.passed);
      ctx.log(`  ${system.name} @ ${rate}/s: added p99 ${addedP99.toFixed(2)} ms, errors ${(errorRate * 100).toFixed(2)}%, system ${((usage.system?.cores ?? 0) * 100).toFixed(0)}% of core 1, load gen ${(r.cores * 100).toFixed(0)}% -> ${probe.passed ? "pass" : `fail (${reason})`}${r.error ? `; first error: ${r.error}` : ""}`);
    }
    if (!probed) break;
  }
  const rows = others.map((s): FrontierRow => {
    const { search, probes } = searches.get(s.name)!;
    const best = search.best;
    const fail = search.firstFail;
    const atFrontier = best === undefined ? undefined : probes.find((p) => p.rate === rateOf(best));
    // A failing step the system was never probed at failed on direct's side: the load side could not hold it.
    const beyond = fail === undefined ? undefined : (probes.find((p) => p.rate === rateOf(fail)) ?? directAt.get(fail));
    return { system: s.name, rate: best === undefined ? 0 : rateOf(best), atFrontier, beyond, loadLimited: beyond?.reason === "load", probes };
  });
  return { rows, direct: [...directAt.values()].sort((a, b) => a.rate - b.rate) };
}
