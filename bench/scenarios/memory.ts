import { type BenchContext, settle, watched } from "../bench-context.ts";
import type { SystemName } from "../bench-config.ts";
import { sampleProc } from "../proc-stats.ts";
import { STREAM_BODY, streamDurationMs } from "./streams.ts";

/** Resident memory of one system over rounds of the same streaming load. */
export interface MemoryRow {
  readonly system: SystemName;
  readonly concurrency: number;
  /** Peak RSS during each round, in MB. */
  readonly peakRssMb: readonly number[];
  /** RSS half a second after each round, in MB. */
  readonly afterRssMb: readonly number[];
  /** (after last round − after first round) / after first round. */
  readonly growth: number;
  /** Same, of the peaks. */
  readonly peakGrowth: number;
  readonly errors: number;
}

/**
 * Memory plateau: rounds of the same load (`concurrency` streams, one per
 * connection, starts spread over a stream's duration) against this gateway
 * only; a leak shows as RSS that keeps growing from round to round.
 */
export async function runMemory(ctx: BenchContext): Promise<MemoryRow[]> {
  const { concurrency, rounds } = ctx.config.memory;
  const { deltas, paceMs, delayMs } = ctx.config.streams;
  await ctx.fake.setMode({ delayMs, deltas, paceMs, deltaBytes: 6 });
  const rows: MemoryRow[] = [];
  for (const system of ctx.systems.filter((s) => s.name === "gateway" && s.child)) {
    const peak: number[] = [];
    const after: number[] = [];
    let errors = 0;
    for (let round = 0; round < rounds; round++) {
      const { result, usage } = await watched(ctx, system, () =>
        ctx.load.run({ kind: "streams", target: system.target, body: STREAM_BODY, concurrency, perWorker: 1, warmAndTail: false, spreadMs: streamDurationMs(ctx), deltas }),
      );
      errors += result.errors;
      await settle(500);
      peak.push(usage.system!.peakRssMb);
      after.push(sampleProc(system.child!.pid).rssMb);
      ctx.log(`  memory round ${round + 1}/${rounds}, ${system.name}: peak ${peak.at(-1)!.toFixed(1)} MB, after ${after.at(-1)!.toFixed(1)} MB, errors ${result.errors}`);
    }
    const growth = (xs: number[]) => ((xs.at(-1) as number) - (xs[0] as number)) / (xs[0] as number);
    rows.push({ system: system.name, concurrency, peakRssMb: peak, afterRssMb: after, growth: growth(after), peakGrowth: growth(peak), errors });
  }
  return rows;
}
