/**
 * Summarises V8 CPU profiles (`node --cpu-prof`): self time by file and by
 * function, as shares of the busy (non-idle) time. Usage:
 *
 *   node bench/profile-summary.ts PROFILE.cpuprofile... [--top=N] [--match=TEXT]
 *
 * `--match` adds the total (self plus callees) time of functions whose file or
 * name contains TEXT, such as `JSON.parse` callers in one file.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith("--"));
const top = Number(args.find((a) => a.startsWith("--top="))?.slice(6) ?? 25);
const match = args.find((a) => a.startsWith("--match="))?.slice(8);
if (files.length === 0) {
  process.stderr.write("usage: node bench/profile-summary.ts PROFILE.cpuprofile... [--top=N] [--match=TEXT]\n");
  process.exit(2);
}

/** A short name for a script URL: the package, or the path inside the repository. */
function fileOf(url: string): string {
  if (url === "") return "(native or V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const repo = url.indexOf("/work/main/");
  if (repo >= 0) return url.slice(repo + "/work/main/".length);
  return url.replace(/^file:\/\//, "");
}

const byFile = new Map<string, number>();
const byFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
let idle = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  for (const [id, us] of self) {
    const { callFrame: cf } = nodes.get(id) as ProfileNode;
    if (cf.functionName === "(idle)") {
      idle += us;
      continue;
    }
    busy += us;
    const f = fileOf(cf.url);
    byFile.set(f, (byFile.get(f) ?? 0) + us);
    const key = `${cf.functionName || "(anonymous)"}  ${f}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    if (match !== undefined) {
      // Inclusive time: credit every matching frame on the stack once.
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = (nodes.get(at) as ProfileNode).callFrame;
        const name = `${frame.functionName || "(anonymous)"}  ${fileOf(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
        if (!seen.has(name) && name.includes(match)) {
          seen.add(name);
          inclusive.set(name, (inclusive.get(name) ?? 0) + us);
        }
      }
    }
  }
}

const share = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms`;
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${share(v)}  ${k}\n`);
};
process.stdout.write(`busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms (${files.length} profile${files.length === 1 ? "" : "s"})\n`);
print("self time by file", byFile);
print("self time by function", byFunction);
if (match !== undefined) print(`total time of functions matching "${match}"`, inclusive);
