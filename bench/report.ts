import { type BenchResults, checkTargets } from "./targets.ts";

const f = (v: number | undefined, digits = 2) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits));
const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : `${(100 * v).toFixed(0)}%`);
const table = (head: readonly string[], rows: readonly (readonly string[])[]) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

/** Share of a core above which a process counts as saturated. */
const SATURATED = 0.9;

/** Renders a run's results as Markdown: targets first, then one table per scenario and notes on saturation. */
export function renderMarkdown(r: BenchResults): string {
  const label = (name: string) => r.systems.find((s) => s.name === name)?.label ?? name;
  const out: string[] = [];
  const notes: string[] = [];
  out.push(`# Benchmark: this gateway against direct, a bare undici proxy and Portkey`);
  out.push("");
  out.push(`${r.date}${r.quick ? " · **quick run (BENCH_QUICK=1): not for comparison**" : ""} · ${r.machine.cpus} × ${r.machine.cpuModel} · Node ${r.machine.node} · ` +
    `${r.machine.pinned ? "systems pinned to core 1, load generator and fake upstream to core 0" : "**not pinned** (no taskset or one core)"} · ${Math.round(r.durationS)} s · ` +
    `other processes used ${pct(r.machine.foreignCores)} of a core on average${r.machine.foreignCores > 0.05 ? " (**the machine was not quiet**)" : ""}. ` +
    "Added figures are the system's minus direct's in the same round; medians of rounds. Method: [bench/README.md](../README.md).");
  const checks = checkTargets(r);
  if (checks.length > 0) {
    out.push("", "## Targets (issue 5)", "");
    out.push(table(["target", "measured", "holds"], checks.map((c) => [c.target, c.note ? `${c.measured} (${c.note})` : c.measured, c.pass === undefined ? "–" : c.pass ? "**pass**" : "**FAIL**"])));
  }
  if (r.latency) {
    out.push("", "## Added latency at concurrency 1 (non-streaming, instant upstream)", "");
    out.push(table(["system", "p50", "p99", "added p50", "added p99", "CPU per request", "errors"],
      r.latency.map((x) => [label(x.system), `${f(x.p50, 3)} ms`, `${f(x.p99, 3)} ms`, `${f(x.addedP50, 3)} ms`, `${f(x.addedP99, 3)} ms`, x.cpuPerRequestMs === undefined ? "–" : `${f(x.cpuPerRequestMs, 3)} ms`, String(x.errors)])));
  }
  if (r.frontier) {
    out.push("", "## Throughput frontier (20 ms upstream, open loop, added p99 < 5 ms and < 0.1% errors)", "");
    out.push(table(["system", "highest rate", "added p99 there", "errors there", "system CPU", "load gen + fake CPU", "next step up"],
      r.frontier.rows.map((x) => {
        const a = x.atFrontier;
        const b = x.beyond;
        const next = b ? `${b.rate}/s: ${b.reason === "load" ? "load side saturated" : b.reason === "errors" ? `${pct(b.errorRate)} errors` : `added p99 ${f(b.addedP99)} ms`}` : "(maximum rate reached)";
        const rate = x.rate === 0 ? `**below ${x.beyond?.rate ?? "?"} req/s**` : `**${x.rate} req/s**`;
        return [label(x.system), `${rate}${x.loadLimited ? " (≥: load-side limit)" : ""}`, a ? `${f(a.addedP99)} ms` : "–", a ? pct(a.errorRate) : "–", a ? pct(a.systemCores) : "–", a ? `${pct(a.loadgenCores)} + ${pct(a.fakeCores)}` : "–", next];
      })));
    const d = r.frontier.direct;
    if (d.length > 0) out.push("", `Direct reference p99 by rate: ${d.map((p) => `${p.rate}/s ${f(p.p99)} ms${p.passed ? "" : " (load side saturated)"}`).join(", ")}.`);
    for (const row of r.frontier.rows) if (row.loadLimited) notes.push(`Throughput: ${label(row.system)} was not the limit: at ${row.beyond?.rate} req/s the load generator and the fake upstream (sharing core 0) could not hold the rate, so ${row.rate} req/s is a lower bound.`);
  }
  if (r.streams) {
    out.push("", "## Concurrent streams (64 deltas paced 20 ms, 20 ms to the first)", "");
    out.push(table(["streams", "system", "TTFT p50 / p99", "added TTFT p50 / p99", "gap p50 / p99", "added gap p50 / p99", "errors", "CPU per stream", "system CPU", "peak RSS", "load gen + fake CPU"],
      r.streams.map((x) => [String(x.concurrency), label(x.system), `${f(x.ttftP50, 1)} / ${f(x.ttftP99, 1)} ms`, `${f(x.addedTtftP50)} / ${f(x.addedTtftP99)} ms`, `${f(x.gapP50)} / ${f(x.gapP99)} ms`,
        `${f(x.addedGapP50)} / ${f(x.addedGapP99)} ms`, `${x.errors}/${x.streams}`, x.cpuPerStreamMs === undefined ? "–" : `${f(x.cpuPerStreamMs)} ms`, pct(x.systemCores), x.peakRssMb === undefined ? "–" : `${f(x.peakRssMb, 0)} MB`, `${pct(x.loadgenCores)} + ${pct(x.fakeCores)}`])));
    for (const x of r.streams) {
      if (x.loadgenCores + x.fakeCores > SATURATED) notes.push(`Streams: at ${x.concurrency} streams against ${label(x.system)} core 0 was saturated (load generator ${pct(x.loadgenCores)} + fake ${pct(x.fakeCores)}); gaps there include the load side's own delay.`);
      if (x.systemCores !== undefined && x.systemCores > SATURATED) notes.push(`Streams: ${label(x.system)} used ${pct(x.systemCores)} of its core at ${x.concurrency} streams: it is the bottleneck there.`);
    }
  }
  if (r.memory) {
    for (const m of r.memory) {
      out.push("", `## Memory across ${m.afterRssMb.length} rounds of ${m.concurrency} streams (${label(m.system)})`, "");
      out.push(table(["round", ...m.afterRssMb.map((_, i) => String(i + 1))], [["peak RSS (MB)", ...m.peakRssMb.map((v) => f(v, 0))], ["RSS after (MB)", ...m.afterRssMb.map((v) => f(v, 0))]]));
      out.push("", `Growth: ${pct(m.growth)} after rounds, ${pct(m.peakGrowth)} of peaks; ${m.errors} failed streams.`);
    }
  }
  if (r.backpressure) {
    out.push("", "## Back-pressure: clients that stop reading", "");
    const b0 = r.backpressure[0];
    if (b0) out.push(`${b0.clients} clients each ask for a stream of ${f(b0.streamMb, 0)} MB from an unpaced upstream, read the response head, then stop reading. Flat memory means the system stopped reading its upstream.`, "");
    out.push(table(["system", "RSS before", "peak RSS", "growth", "streams opened"], r.backpressure.map((x) => [label(x.system), `${f(x.rssBeforeMb, 0)} MB`, `${f(x.peakRssMb, 0)} MB`, `${f(x.growthMb, 0)} MB`, `${x.opened}/${x.clients}`])));
  }
  if (r.latency) for (const x of r.latency) if (x.loadgenCores > SATURATED) notes.push(`Latency: the load generator used ${pct(x.loadgenCores)} of its core against ${label(x.system)}.`);
  if (notes.length > 0) out.push("", "## Notes", "", ...notes.map((n) => `- ${n}`));
  return `${out.join("\n")}\n`;
}
