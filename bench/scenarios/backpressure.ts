import { type BenchContext, settle, watched } from "../bench-context.ts";
import type { SystemName } from "../bench-config.ts";
import { sampleProc } from "../proc-stats.ts";
import { STREAM_BODY } from "./streams.ts";

/** What slow readers did to one system's memory. */
export interface BackpressureRow {
  readonly system: SystemName;
  readonly clients: number;
  /** What each stream would carry if read to the end, in MB. */
  readonly streamMb: number;
  readonly rssBeforeMb: number;
  readonly peakRssMb: number;
  /** Peak minus before: near zero when back-pressure holds. */
  readonly growthMb: number;
  readonly opened: number;
}

/**
 * Back-pressure: `clients` streams of a fast upstream (no pacing, large
 * deltas) whose clients read the response head and then stop reading for a
 * while. A proxy that honours back-pressure stops reading its upstream and
 * its memory stays flat; one that does not buffers the whole stream.
 */
export async function runBackpressure(ctx: BenchContext): Promise<BackpressureRow[]> {
  const { clients, deltas, deltaBytes, holdMs } = ctx.config.backpressure;
  await ctx.fake.setMode({ delayMs: 0, deltas, paceMs: 0, deltaBytes });
  const rows: BackpressureRow[] = [];
  for (const system of ctx.systems.filter((s) => s.child)) {
    const before = sampleProc(system.child!.pid).rssMb;
    const { result, usage } = await watched(ctx, system, () => ctx.load.run({ kind: "slow-readers", target: system.target, body: STREAM_BODY, clients, holdMs }));
    const peak = usage.system!.peakRssMb;
    rows.push({ system: system.name, clients, streamMb: (deltas * (deltaBytes + 180)) / 1e6, rssBeforeMb: before, peakRssMb: peak, growthMb: peak - before, opened: result.opened });
    ctx.log(`  back-pressure, ${system.name}: RSS ${before.toFixed(1)} -> peak ${peak.toFixed(1)} MB with ${result.opened}/${clients} stalled readers${result.error ? `; first error: ${result.error}` : ""}`);
    await settle(2000);
  }
  return rows;
}
