/**
 * The benchmark suite of issue 5 (`npm run bench`): starts a fake OpenAI
 * upstream and a load generator on core 0, every system under test on core 1
 * (direct, a bare undici proxy, this gateway, Portkey), checks that each one
 * really reaches the fake, runs the scenarios and writes
 * `bench/results/latest.md` and `latest.json`. Knobs: see `bench-config.ts`
 * and bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchContext, createFakeUpstream, createLoadClient } from "./bench-context.ts";
import { readBenchConfig } from "./bench-config.ts";
import { machineBusyMs, sampleProc } from "./proc-stats.ts";
import { type Child, canPin, LOAD_CORE, pinSelf, portFromStdout, spawnPinned } from "./processes.ts";
import { renderMarkdown } from "./report.ts";
import { runBackpressure } from "./scenarios/backpressure.ts";
import { runFrontier } from "./scenarios/frontier.ts";
import { runLatency, UNARY_BODY } from "./scenarios/latency.ts";
import { runMemory } from "./scenarios/memory.ts";
import { runStreams, STREAM_BODY } from "./scenarios/streams.ts";
import { warmUp } from "./scenarios/warmup.ts";
import { startSystem, type SystemUnderTest } from "./systems.ts";
import type { BenchResults } from "./targets.ts";

const started = performance.now();
const busyAtStart = machineBusyMs();
const config = readBenchConfig(process.env);
const log = (message: string) => process.stderr.write(`${message}\n`);
const here = new URL("./", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "gateway-bench-"));
const children: Child[] = [];
/**
 * Node flags of the load side (fake upstream and load generator), not of the
 * systems: a small young generation keeps their scavenges short, so their own
 * pauses add less to every system's tail.
 */
const LOAD_SIDE_FLAGS = ["--max-semi-space-size=1", ...config.loadNodeArgs];

/** One unary and one streamed request through the system; the fake must count both. */
async function verify(ctx: BenchContext, system: SystemUnderTest): Promise<void> {
  const before = await ctx.fake.requests();
  for (const body of [UNARY_BODY, STREAM_BODY]) {
    const res = await fetch(system.target.url, { method: "POST", headers: system.target.headers, body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${system.name}: check request answered ${res.status}: ${text.slice(0, 300)}`);
    if (body === STREAM_BODY && !text.includes("data: [DONE]")) throw new Error(`${system.name}: check stream did not end with [DONE]: ${text.slice(-300)}`);
  }
  const served = (await ctx.fake.requests()) - before;
  if (served !== 2) throw new Error(`${system.name}: the fake upstream served ${served} of 2 check requests`);
}

async function main(): Promise<void> {
  pinSelf(LOAD_CORE);
  log(`bench: ${config.quick ? "quick" : "full"} run of ${config.scenarios.join(", ")} on ${config.systems.join(", ")}${canPin ? "" : " (not pinned: no taskset or a single core)"}; scratch ${dir}`);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const fakeChild = spawnPinned("fake upstream", LOAD_CORE, process.execPath, [...LOAD_SIDE_FLAGS, join(here, "fake-upstream.ts")], { env: { ...env, PORT: "0" } });
  children.push(fakeChild);
  const fake = createFakeUpstream(`http://127.0.0.1:${await portFromStdout(fakeChild)}`, fakeChild);
  const loadChild = spawnPinned("load generator", LOAD_CORE, process.execPath, [...LOAD_SIDE_FLAGS, join(here, "load-generator.ts")], { env, ipc: true, logFile: join(dir, "load-generator.log") });
  children.push(loadChild);
  const systems: SystemUnderTest[] = [];
  for (const name of config.systems) {
    const system = await startSystem(name, { fakeOrigin: fake.origin, dir, gatewayNodeArgs: config.gatewayNodeArgs, gatewayLogLevel: config.gatewayLogLevel });
    if (system.child) children.push(system.child);
    systems.push(system);
  }
  const ctx: BenchContext = { config, systems, load: createLoadClient(loadChild), fake, log };
  for (const s of systems) await verify(ctx, s);
  log(`bench: ${systems.map((s) => s.label).join(", ")} serve through the fake upstream; warming up`);
  await warmUp(ctx);

  const results: { -readonly [K in keyof BenchResults]: BenchResults[K] } = {
    date: new Date().toISOString(),
    quick: config.quick,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "?", node: process.versions.node, pinned: canPin, foreignCores: 0 },
    systems: systems.map((s) => ({ name: s.name, label: s.label })),
    durationS: 0,
  };
  for (const scenario of config.scenarios) {
    const t0 = performance.now();
    log(`bench: ${scenario}`);
    switch (scenario) {
      case "latency":
        results.latency = await runLatency(ctx);
        break;
      case "frontier":
        results.frontier = await runFrontier(ctx);
        break;
      case "streams":
        results.streams = await runStreams(ctx);
        break;
      case "memory":
        results.memory = await runMemory(ctx);
        break;
      case "backpressure":
        results.backpressure = await runBackpressure(ctx);
        break;
      default: {
        const never: never = scenario;
        throw new Error(`unknown scenario ${String(never)}`);
      }
    }
    log(`bench: ${scenario} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  results.durationS = (performance.now() - started) / 1000;
  // Every process of the suite is still alive here; what the machine did beyond them was someone else's work.
  const own = children.reduce((sum, c) => sum + sampleProc(c.pid).cpuMs, 0) + sampleProc(process.pid).cpuMs;
  results.machine = { ...results.machine, foreignCores: Math.max(0, machineBusyMs() - busyAtStart - own) / 1000 / results.durationS };
  const markdown = renderMarkdown(results);
  mkdirSync(config.outDir, { recursive: true });
  writeFileSync(join(config.outDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(config.outDir, "latest.md"), markdown);
  process.stdout.write(markdown);
  log(`bench: wrote ${join(config.outDir, "latest.md")} and latest.json in ${results.durationS.toFixed(0)} s`);
}

try {
  await main();
} finally {
  // Systems first (the gateway flushes its ledger; a CPU profile is written on exit), then the load side.
  for (const c of [...children].reverse()) await c.stop(10_000);
  if (config.gatewayNodeArgs.length === 0) rmSync(dir, { recursive: true, force: true });
}
