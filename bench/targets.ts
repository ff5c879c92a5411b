import type { BackpressureRow } from "./scenarios/backpressure.ts";
import type { FrontierResult } from "./scenarios/frontier.ts";
import type { LatencyRow } from "./scenarios/latency.ts";
import type { MemoryRow } from "./scenarios/memory.ts";
import type { StreamsRow } from "./scenarios/streams.ts";

/** Everything one suite run measured; each scenario's part is absent when it did not run. */
export interface BenchResults {
  readonly date: string;
  readonly quick: boolean;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly pinned: boolean;
    /** CPU that processes outside the suite used during the run, in cores on average (other work on the machine skews every figure). */
    readonly foreignCores: number;
  };
  readonly systems: readonly { readonly name: string; readonly label: string }[];
  readonly latency?: readonly LatencyRow[];
  readonly frontier?: FrontierResult;
  readonly streams?: readonly StreamsRow[];
  readonly memory?: readonly MemoryRow[];
  readonly backpressure?: readonly BackpressureRow[];
  readonly durationS: number;
}

/** One target of issue 5, checked against a run; `pass` undefined when the run lacks the figures. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
  readonly note?: string;
}

const ms = (v: number) => `${v.toFixed(3)} ms`;

/** Checks the targets of issue 5 (ratios within one run) against the results. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const lat = (name: string) => r.latency?.find((x) => x.system === name);
  const gw = lat("gateway");
  const bare = lat("bare");
  if (gw && bare) {
    const d50 = gw.addedP50 - bare.addedP50;
    const d99 = gw.addedP99 - bare.addedP99;
    checks.push({ target: "added p50 at concurrency 1 within 0.2 ms of the bare proxy's", measured: `${ms(gw.addedP50)} vs ${ms(bare.addedP50)} (+${ms(d50)})`, pass: d50 <= 0.2 });
    checks.push({ target: "added p99 at concurrency 1 within 1 ms of the bare proxy's", measured: `${ms(gw.addedP99)} vs ${ms(bare.addedP99)} (+${ms(d99)})`, pass: d99 <= 1 });
  }
  const fr = (name: string) => r.frontier?.rows.find((x) => x.system === name);
  const gwF = fr("gateway");
  const bareF = fr("bare");
  const pkF = fr("portkey");
  if (gwF && bareF) {
    const note = bareF.loadLimited ? "the bare proxy's frontier is capped by the load side (load generator and fake on one core), so the ratio flatters the gateway" : undefined;
    checks.push({ target: "throughput ≥ 70% of the bare proxy's", measured: `${gwF.rate} vs ${bareF.rate} req/s (${((100 * gwF.rate) / Math.max(1, bareF.rate)).toFixed(0)}%)`, pass: gwF.rate >= 0.7 * bareF.rate, note });
  }
  if (gwF && pkF) {
    checks.push({ target: "throughput ≥ 3× Portkey's", measured: `${gwF.rate} vs ${pkF.rate} req/s (${(gwF.rate / Math.max(1, pkF.rate)).toFixed(1)}×)`, pass: gwF.rate >= 3 * pkF.rate });
  }
  const s1000 = r.streams?.find((x) => x.system === "gateway" && x.concurrency === 1000);
  if (s1000) {
    checks.push({ target: "1,000 concurrent streams: no errors", measured: `${s1000.errors} of ${s1000.streams} streams failed`, pass: s1000.errors === 0, note: s1000.firstError });
    checks.push({ target: "1,000 concurrent streams: added inter-chunk p99 ≤ 5 ms", measured: ms(s1000.addedGapP99), pass: s1000.addedGapP99 <= 5 });
    checks.push({ target: "1,000 concurrent streams: resident memory ≤ 250 MB", measured: `${(s1000.peakRssMb ?? Number.NaN).toFixed(1)} MB peak`, pass: (s1000.peakRssMb ?? Number.POSITIVE_INFINITY) <= 250 });
  }
  const mem = r.memory?.find((x) => x.system === "gateway");
  if (mem) {
    const after = mem.afterRssMb;
    checks.push({
      target: `memory growth across ${after.length} rounds < 10%`,
      measured: `${(100 * mem.growth).toFixed(1)}% (${after[0]?.toFixed(1)} → ${after.at(-1)?.toFixed(1)} MB after rounds; peaks ${(100 * mem.peakGrowth).toFixed(1)}%)`,
      pass: mem.growth < 0.1,
    });
  }
  return checks;
}
