import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** CPU time and resident memory of one process, read from `/proc/<pid>/stat`. */
export interface ProcSample {
  /** User plus system CPU time since the process started, in ms. */
  readonly cpuMs: number;
  /** Resident set size, in MB (10^6 bytes). */
  readonly rssMb: number;
}

function sysconf(name: string, fallback: number): number {
  try {
    return Number(execFileSync("getconf", [name], { encoding: "utf8" }).trim()) || fallback;
  } catch {
    return fallback;
  }
}
const TICKS = sysconf("CLK_TCK", 100);
const PAGE = sysconf("PAGESIZE", 4096);

/**
 * Reads a process's CPU time and RSS (Linux only).
 * @throws Error when the process is gone or `/proc` is missing.
 */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which may itself hold spaces and parentheses.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime and rss are fields 14, 15 and 24 of stat(5); f starts at field 3.
  return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS, rssMb: (Number(f[21]) * PAGE) / 1e6 };
}

/** What a {@link ProcWatch} saw between its start and stop. */
export interface ProcUsage {
  /** CPU time used, in ms. */
  readonly cpuMs: number;
  /** CPU used as a share of one core (1 = a full core). */
  readonly cores: number;
  readonly peakRssMb: number;
  readonly endRssMb: number;
}

/** Watches one process's CPU and peak RSS over an interval. */
export interface ProcWatch {
  stop(): ProcUsage;
}

/** Starts watching `pid`, sampling its RSS every `everyMs` for the peak. */
export function watchProc(pid: number, everyMs = 100): ProcWatch {
  const t0 = performance.now();
  const first = sampleProc(pid);
  let peak = first.rssMb;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, sampleProc(pid).rssMb);
    } catch {
      // The process ended; stop() reports what was seen.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = sampleProc(pid);
      const cpuMs = last.cpuMs - first.cpuMs;
      return { cpuMs, cores: cpuMs / (performance.now() - t0), peakRssMb: Math.max(peak, last.rssMb), endRssMb: last.rssMb };
    },
  };
}

/** CPU time of every process on the machine since boot (user, nice and system; interrupts and steal left out), in ms, from `/proc/stat`. */
export function machineBusyMs(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  return (((cpu[0] ?? 0) + (cpu[1] ?? 0) + (cpu[2] ?? 0)) * 1000) / TICKS;
}
