import type { BenchConfig } from "./bench-config.ts";
import type { FakeMode } from "./fake-upstream.ts";
import type { LoadCommand, LoadReply, RateCommand, RateResult, SequentialCommand, SequentialResult, SlowReadersCommand, SlowReadersResult, StreamsCommand, StreamsResult } from "./load-protocol.ts";
import { type ProcUsage, watchProc } from "./proc-stats.ts";
import type { Child } from "./processes.ts";
import type { SystemUnderTest } from "./systems.ts";

/** Sends commands to the load generator process and awaits their results. */
export interface LoadClient {
  run(cmd: SequentialCommand): Promise<SequentialResult>;
  run(cmd: RateCommand): Promise<RateResult>;
  run(cmd: StreamsCommand): Promise<StreamsResult>;
  run(cmd: SlowReadersCommand): Promise<SlowReadersResult>;
}

/** Creates the client of a load generator child started with an IPC channel. */
export function createLoadClient(child: Child): LoadClient {
  let next = 1;
  const waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  child.process.on("message", (reply: LoadReply) => {
    const w = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.failure !== undefined) w?.reject(new Error(`load generator: ${reply.failure}`));
    else w?.resolve(reply.result);
  });
  child.process.once("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`load generator exited with ${code}`));
  });
  return {
    run(command: LoadCommand) {
      const id = next++;
      return new Promise<unknown>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.process.send({ id, command });
      });
    },
  } as LoadClient;
}

/** The fake upstream, as scenarios see it. */
export interface FakeUpstream {
  readonly origin: string;
  readonly child: Child;
  /** Changes how it answers from the next request on. */
  setMode(mode: Partial<FakeMode>): Promise<void>;
  /** Chat completion requests served so far. */
  requests(): Promise<number>;
}

/** Creates the control client of a fake upstream listening at `origin`. */
export function createFakeUpstream(origin: string, child: Child): FakeUpstream {
  return {
    origin,
    child,
    async setMode(mode) {
      const res = await fetch(`${origin}/_bench/mode`, { method: "POST", body: JSON.stringify(mode) });
      if (res.status !== 204) throw new Error(`fake upstream: mode answered ${res.status}`);
    },
    async requests() {
      const res = await fetch(`${origin}/_bench/stats`);
      return ((await res.json()) as { requests: number }).requests;
    },
  };
}

/** CPU and memory of the system, the fake and the load generator over one measurement. */
export interface Usage {
  /** The system's process; undefined for `direct`. */
  readonly system: ProcUsage | undefined;
  readonly fake: ProcUsage;
}

/** Everything a scenario needs. */
export interface BenchContext {
  readonly config: BenchConfig;
  /** Systems in the order they were started; `direct` first. */
  readonly systems: readonly SystemUnderTest[];
  readonly load: LoadClient;
  readonly fake: FakeUpstream;
  /** Progress to stderr. */
  log(message: string): void;
}

/** Runs `work` while watching the system's and the fake's processes. */
export async function watched<T>(ctx: BenchContext, system: SystemUnderTest, work: () => Promise<T>): Promise<{ result: T; usage: Usage }> {
  const sys = system.child ? watchProc(system.child.pid) : undefined;
  const fake = watchProc(ctx.fake.child.pid);
  const result = await work();
  return { result, usage: { system: sys?.stop(), fake: fake.stop() } };
}

/** The systems in round `round`'s order: rotated, so that no system always goes first. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const k = round % Math.max(1, items.length);
  return [...items.slice(k), ...items.slice(0, k)];
}

/** A short pause that lets a system settle between measurements. */
export const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));
