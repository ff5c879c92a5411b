import type { BenchContext } from "../bench-context.ts";
import { UNARY_BODY } from "./latency.ts";
import { STREAM_BODY } from "./streams.ts";

/**
 * Warms every system before any measurement (JIT, connection pools, lazy
 * initialisation): sequential unary requests, then a burst of short
 * concurrent streams. Nothing is recorded; failures are logged.
 */
export async function warmUp(ctx: BenchContext): Promise<void> {
  const requests = ctx.config.quick ? 300 : 1000;
  const deltas = 16;
  for (const system of ctx.systems) {
    await ctx.fake.setMode({ delayMs: 0 });
    const unary = await ctx.load.run({ kind: "sequential", target: system.target, body: UNARY_BODY, warmup: 0, count: requests });
    await ctx.fake.setMode({ delayMs: 5, deltas, paceMs: 5, deltaBytes: 6 });
    const streams = await ctx.load.run({ kind: "streams", target: system.target, body: STREAM_BODY, concurrency: 64, perWorker: 3, warmAndTail: false, spreadMs: 100, deltas });
    if (unary.errors + streams.errors > 0) ctx.log(`  warm-up of ${system.name}: ${unary.errors} + ${streams.errors} errors; first: ${unary.error ?? streams.error}`);
  }
}
