import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { openSync } from "node:fs";
import * as net from "node:net";
import { availableParallelism } from "node:os";

/** Whether processes can be pinned to cores here (`taskset`, and at least two cores). */
export const canPin: boolean = process.platform === "linux" && availableParallelism() >= 2 && spawnSync("taskset", ["-V"]).status === 0;

/** Core of the systems under test; the load generator, the fake upstream and the suite share {@link LOAD_CORE}. */
export const SYSTEM_CORE = 1;
/** Core of the load generator, the fake upstream and the suite itself. */
export const LOAD_CORE = 0;

/** A child process started by the suite. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Pins the calling process to a core (no-op where pinning is not possible). */
export function pinSelf(core: number): void {
  if (canPin) spawnSync("taskset", ["-pc", String(core), String(process.pid)], { stdio: "ignore" });
}

/**
 * Starts `command args` pinned to `core` (through `taskset`, which execs, so
 * the pid is the program's own) with exactly `env`. Output goes to `logFile`,
 * or stays readable on `child.process.stdout` when `logFile` is undefined;
 * `ipc` adds Node's IPC channel.
 */
export function spawnPinned(name: string, core: number, command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string; logFile?: string; ipc?: boolean }): Child {
  const out = options.logFile === undefined ? "pipe" : openSync(options.logFile, "a");
  const stdio = options.ipc ? (["ignore", out, out, "ipc"] as const) : (["ignore", out, out] as const);
  const [file, argv] = canPin ? ["taskset", ["-c", String(core), command, ...args]] : [command, [...args]];
  const child = spawn(file, argv, { env: options.env, cwd: options.cwd, stdio: [...stdio] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    pid: child.pid,
    process: child,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the port a child prints as its first stdout line, `{"port":N}`. */
export function portFromStdout(child: Child, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`${child.name}: no port within ${timeoutMs} ms; output: ${text}`)), timeoutMs);
    child.process.stdout?.on("data", (b: Buffer) => {
      text += b.toString();
      const line = text.split("\n")[0];
      if (text.includes("\n") && line !== undefined) {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`${child.name}: unexpected first line ${line}`));
        }
      }
    });
    child.process.once("exit", (code) => reject(new Error(`${child.name} exited with ${code}; output: ${text}`)));
  });
}

/** A port free on 127.0.0.1 right now (for programs that cannot report the one they bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` until it answers with a status below 500.
 * @throws Error after `timeoutMs`, or when `child` exits first.
 */
export async function waitForHttp(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited with ${child.process.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${child.name}: ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
