/** Systems the suite can measure; `direct` is the reference every other one is compared with. */
export type SystemName = "direct" | "bare" | "gateway" | "portkey";

/** Scenarios the suite can run, in this order. */
export type ScenarioName = "latency" | "frontier" | "streams" | "memory" | "backpressure";

/** Every knob of a suite run, read once from the environment. */
export interface BenchConfig {
  readonly quick: boolean;
  readonly systems: readonly SystemName[];
  readonly scenarios: readonly ScenarioName[];
  /** Directory of `latest.md` and `latest.json`. */
  readonly outDir: string;
  /** Extra Node flags for the gateway process (say `--cpu-prof --cpu-prof-dir=/tmp/p`). */
  readonly gatewayNodeArgs: readonly string[];
  readonly gatewayLogLevel: string;
  /** Extra Node flags for the fake upstream and the load generator (diagnosis). */
  readonly loadNodeArgs: readonly string[];
  readonly latency: { readonly rounds: number; readonly requests: number; readonly warmup: number };
  readonly frontier: {
    /** Upstream delay of every answer. */
    readonly delayMs: number;
    readonly warmupMs: number;
    readonly measureMs: number;
    /** Tail bound: a rate passes while added p99 stays under it. */
    readonly boundMs: number;
    /** First rate probed; the grid is 250 · 2^(k/4) requests/s. */
    readonly startRate: number;
    readonly maxRate: number;
  };
  readonly streams: {
    readonly levels: readonly number[];
    readonly rounds: number;
    readonly deltas: number;
    readonly paceMs: number;
    readonly delayMs: number;
    /** Streams each connection runs per round after its first (warm-up) stream. */
    readonly measured: number;
  };
  readonly memory: { readonly concurrency: number; readonly rounds: number };
  readonly backpressure: { readonly clients: number; readonly deltas: number; readonly deltaBytes: number; readonly holdMs: number };
}

type Env = Readonly<Record<string, string | undefined>>;

const ALL_SYSTEMS: readonly SystemName[] = ["direct", "bare", "gateway", "portkey"];
const ALL_SCENARIOS: readonly ScenarioName[] = ["latency", "frontier", "streams", "memory", "backpressure"];

function list<T extends string>(raw: string | undefined, all: readonly T[], what: string): readonly T[] {
  if (!raw) return all;
  const picked = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`${what}: unknown "${p}" (known: ${all.join(", ")})`);
  return all.filter((a) => picked.includes(a));
}

function num(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${key} must be a non-negative number, got "${raw}"`);
  return n;
}

/**
 * Reads the suite's knobs: `BENCH_QUICK=1` for a smoke run of a minute or
 * two, `BENCH_SYSTEMS` and `BENCH_SCENARIOS` (comma lists) to run a subset,
 * `BENCH_OUT`, `BENCH_GATEWAY_NODE_ARGS`, `BENCH_GATEWAY_LOG_LEVEL`, `BENCH_LOAD_NODE_ARGS`,
 * `BENCH_STREAM_LEVELS` (comma list of concurrent streams), and
 * `BENCH_ROUNDS` to override the round count of every scenario.
 * `direct` is always measured: every figure is relative to it.
 * @throws Error naming a knob with a bad value.
 */
export function readBenchConfig(env: Env): BenchConfig {
  const quick = env.BENCH_QUICK === "1" || env.BENCH_QUICK === "true";
  const systems = list(env.BENCH_SYSTEMS, ALL_SYSTEMS, "BENCH_SYSTEMS");
  const rounds = (full: number, fast: number) => num(env, "BENCH_ROUNDS", quick ? fast : full);
  return {
    quick,
    systems: systems.includes("direct") ? systems : ["direct", ...systems],
    scenarios: list(env.BENCH_SCENARIOS, ALL_SCENARIOS, "BENCH_SCENARIOS"),
    outDir: env.BENCH_OUT || new URL("results/", import.meta.url).pathname,
    gatewayNodeArgs: (env.BENCH_GATEWAY_NODE_ARGS ?? "").split(" ").filter((s) => s !== ""),
    gatewayLogLevel: env.BENCH_GATEWAY_LOG_LEVEL || "warn",
    loadNodeArgs: (env.BENCH_LOAD_NODE_ARGS ?? "").split(" ").filter((s) => s !== ""),
    latency: { rounds: rounds(5, 3), requests: quick ? 500 : 2000, warmup: quick ? 200 : 500 },
    frontier: {
      delayMs: 20,
      warmupMs: quick ? 300 : 500,
      measureMs: quick ? 1000 : 2000,
      boundMs: 5,
      startRate: num(env, "BENCH_FRONTIER_START", 500),
      maxRate: num(env, "BENCH_FRONTIER_MAX", 32000),
    },
    streams: { levels: (env.BENCH_STREAM_LEVELS || "64,256,1000").split(",").map(Number), rounds: rounds(3, 1), deltas: 64, paceMs: 20, delayMs: 20, measured: quick ? 1 : 2 },
    memory: { concurrency: 1000, rounds: quick ? 4 : 10 },
    backpressure: { clients: 20, deltas: 20000, deltaBytes: 1024, holdMs: quick ? 3000 : 5000 },
  };
}
