import { type BenchContext, rotated, settle, watched } from "../bench-context.ts";
import type { SystemName } from "../bench-config.ts";
import { median } from "../stats.ts";

/** Streaming chat request of the streaming and memory scenarios. */
export const STREAM_BODY = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], max_tokens: 64, stream: true, stream_options: { include_usage: true } });

/** One system at one level of concurrent streams; times are medians of the rounds, in ms. */
export interface StreamsRow {
  readonly system: SystemName;
  readonly concurrency: number;
  readonly ttftP50: number;
  readonly ttftP99: number;
  readonly gapP50: number;
  readonly gapP99: number;
  /** Median over rounds of (this system − direct) in the same round. */
  readonly addedTtftP50: number;
  readonly addedTtftP99: number;
  readonly addedGapP50: number;
  readonly addedGapP99: number;
  /** Failed streams over all rounds, and streams run. */
  readonly errors: number;
  readonly streams: number;
  readonly firstError: string | undefined;
  /** The system's CPU per stream, in ms. */
  readonly cpuPerStreamMs: number | undefined;
  /** The system's CPU over the rounds, as a share of its core. */
  readonly systemCores: number | undefined;
  /** Highest resident memory of the system during the rounds, in MB. */
  readonly peakRssMb: number | undefined;
  readonly loadgenCores: number;
  readonly fakeCores: number;
}

/** How long one stream takes upstream, in ms. */
export function streamDurationMs(ctx: BenchContext): number {
  const { deltas, paceMs, delayMs } = ctx.config.streams;
  return delayMs + (deltas - 1) * paceMs;
}

/**
 * Concurrent streams: for each level, rounds in which every system serves
 * that many connections, each running a warm-up stream, the measured
 * streams and a tail stream back to back (starts spread over one stream's
 * duration, so arrivals are even). Added TTFT and inter-chunk gaps are
 * relative to direct in the same round.
 */
export async function runStreams(ctx: BenchContext): Promise<StreamsRow[]> {
  const { levels, rounds, deltas, paceMs, delayMs, measured } = ctx.config.streams;
  await ctx.fake.setMode({ delayMs, deltas, paceMs, deltaBytes: 6 });
  const rows: StreamsRow[] = [];
  for (const concurrency of levels) {
    type Acc = { ttft50: number[]; ttft99: number[]; gap50: number[]; gap99: number[]; errors: number; streams: number; first?: string; cpu: number; wall: number; rss: number; lg: number; fake: number };
    const acc = new Map<SystemName, Acc>(ctx.systems.map((s) => [s.name, { ttft50: [], ttft99: [], gap50: [], gap99: [], errors: 0, streams: 0, cpu: 0, wall: 0, rss: 0, lg: 0, fake: 0 }]));
    for (let round = 0; round < rounds; round++) {
      for (const system of rotated(ctx.systems, round)) {
        const { result: r, usage } = await watched(ctx, system, () =>
          ctx.load.run({ kind: "streams", target: system.target, body: STREAM_BODY, concurrency, perWorker: measured + 2, warmAndTail: true, spreadMs: streamDurationMs(ctx), deltas }),
        );
        const a = acc.get(system.name)!;
        a.ttft50.push(r.ttft.p50);
        a.ttft99.push(r.ttft.p99);
        a.gap50.push(r.gap.p50);
        a.gap99.push(r.gap.p99);
        a.errors += r.errors;
        a.streams += r.streams;
        a.first ??= r.error;
        a.cpu += usage.system?.cpuMs ?? 0;
        a.wall += r.wallMs;
        a.rss = Math.max(a.rss, usage.system?.peakRssMb ?? 0);
        a.lg = Math.max(a.lg, r.cores);
        a.fake = Math.max(a.fake, usage.fake.cores);
        ctx.log(`  ${concurrency} streams, round ${round + 1}/${rounds}, ${system.name}: ttft p99 ${Number(r.ttft.p99).toFixed(1)} ms, gap p50/p99 ${Number(r.gap.p50).toFixed(1)}/${Number(r.gap.p99).toFixed(1)} ms, errors ${r.errors}/${r.streams}, system ${((usage.system?.cores ?? 0) * 100).toFixed(0)}% of core 1, load gen ${(r.cores * 100).toFixed(0)}% + fake ${(usage.fake.cores * 100).toFixed(0)}% of core 0${r.error ? `; first error: ${r.error}` : ""}`);
        await settle(500);
      }
    }
    const d = acc.get("direct")!;
    const added = (xs: number[], ref: number[]) => median(xs.map((v, i) => v - (ref[i] as number)));
    for (const s of ctx.systems) {
      const a = acc.get(s.name)!;
      const watchedSystem = s.child !== undefined;
      rows.push({
        system: s.name,
        concurrency,
        ttftP50: median(a.ttft50),
        ttftP99: median(a.ttft99),
        gapP50: median(a.gap50),
        gapP99: median(a.gap99),
        addedTtftP50: added(a.ttft50, d.ttft50),
        addedTtftP99: added(a.ttft99, d.ttft99),
        addedGapP50: added(a.gap50, d.gap50),
        addedGapP99: added(a.gap99, d.gap99),
        errors: a.errors,
        streams: a.streams,
        firstError: a.first,
        cpuPerStreamMs: watchedSystem ? a.cpu / a.streams : undefined,
        systemCores: watchedSystem ? a.cpu / a.wall : undefined,
        peakRssMb: watchedSystem ? a.rss : undefined,
        loadgenCores: a.lg,
        fakeCores: a.fake,
      });
    }
  }
  return rows;
}
