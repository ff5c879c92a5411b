import { type BenchContext, rotated, settle, watched } from "../bench-context.ts";
import type { SystemName } from "../bench-config.ts";
import { median } from "../stats.ts";

/** Non-streaming chat request of every latency and throughput measurement. */
export const UNARY_BODY = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], max_tokens: 16 });

/** One system's row of the latency scenario, medians of the rounds, in ms. */
export interface LatencyRow {
  readonly system: SystemName;
  readonly p50: number;
  readonly p99: number;
  /** Median over rounds of (this system − direct) in the same round. */
  readonly addedP50: number;
  readonly addedP99: number;
  readonly errors: number;
  /** The system's CPU per request, in ms. */
  readonly cpuPerRequestMs: number | undefined;
  /** Highest load generator CPU of any round, as a share of a core. */
  readonly loadgenCores: number;
}

/**
 * Added latency at concurrency 1, non-streaming, instant upstream: rounds of
 * `requests` sequential requests per system (after `warmup` unmeasured ones),
 * systems rotated within each round; p50 and p99 are medians of the rounds.
 */
export async function runLatency(ctx: BenchContext): Promise<LatencyRow[]> {
  const { rounds, requests, warmup } = ctx.config.latency;
  await ctx.fake.setMode({ delayMs: 0 });
  const per = new Map<SystemName, { p50: number[]; p99: number[]; errors: number; cpu: number[]; lg: number }>();
  for (const s of ctx.systems) per.set(s.name, { p50: [], p99: [], errors: 0, cpu: [], lg: 0 });
  for (let round = 0; round < rounds; round++) {
    for (const system of rotated(ctx.systems, round)) {
      const { result, usage } = await watched(ctx, system, () => ctx.load.run({ kind: "sequential", target: system.target, body: UNARY_BODY, warmup, count: requests }));
      const row = per.get(system.name)!;
      row.p50.push(result.latency.p50);
      row.p99.push(result.latency.p99);
      row.errors += result.errors;
      row.lg = Math.max(row.lg, result.cores);
      if (usage.system) row.cpu.push(usage.system.cpuMs / (warmup + requests));
      if (result.error) ctx.log(`  ${system.name}: ${result.errors} errors, first: ${result.error}`);
      await settle(100);
    }
    ctx.log(`  latency round ${round + 1}/${rounds}: ${ctx.systems.map((s) => `${s.name} p50 ${per.get(s.name)!.p50.at(-1)!.toFixed(3)} p99 ${per.get(s.name)!.p99.at(-1)!.toFixed(3)}`).join(", ")}`);
  }
  const direct = per.get("direct")!;
  return ctx.systems.map((s) => {
    const row = per.get(s.name)!;
    return {
      system: s.name,
      p50: median(row.p50),
      p99: median(row.p99),
      addedP50: median(row.p50.map((v, i) => v - (direct.p50[i] as number))),
      addedP99: median(row.p99.map((v, i) => v - (direct.p99[i] as number))),
      errors: row.errors,
      cpuPerRequestMs: row.cpu.length > 0 ? median(row.cpu) : undefined,
      loadgenCores: row.lg,
    };
  });
}
