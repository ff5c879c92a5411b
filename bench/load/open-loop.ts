import { Pool } from "undici";
import type { RateCommand, RateResult } from "../load-protocol.ts";
import { percentiles, SampleBuffer } from "../stats.ts";
import { type Exchange, exchange } from "./exchange.ts";

/** How long to wait for answers still outstanding after the last request was sent. */
const DRAIN_MS = 10_000;

/**
 * Sends requests at a fixed rate (open loop) for the warm-up, then the
 * measured window, whatever the answers do; requests beyond the pool's
 * connections queue in it. Latency runs from each request's scheduled time,
 * so neither a slow system nor a late load generator hides its queueing.
 * Answers still outstanding {@link DRAIN_MS} after the last send are errors.
 */
export async function runOpenLoop(cmd: RateCommand): Promise<RateResult> {
  const url = new URL(cmd.target.url);
  const pool = new Pool(url.origin, { connections: cmd.connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: DRAIN_MS, bodyTimeout: DRAIN_MS });
  const ex: Exchange = { path: url.pathname, headers: { ...cmd.target.headers, "content-length": String(Buffer.byteLength(cmd.body)) }, body: cmd.body };
  const interval = 1000 / cmd.rate;
  const start = performance.now() + 2;
  const measureFrom = start + cmd.warmupMs;
  const end = measureFrom + cmd.measureMs;
  const latency = new SampleBuffer();
  const lag = new SampleBuffer();
  let sent = 0;
  let errors = 0;
  let error: string | undefined;
  let outstanding = 0;
  let allSent = false;
  let drained: () => void = () => {};
  const finished = new Promise<void>((resolve) => (drained = resolve));
  let cpu0 = process.cpuUsage();
  let measuring = false;

  const fire = (scheduled: number, now: number) => {
    const measured = scheduled >= measureFrom;
    if (measured) {
      sent++;
      lag.push(now - scheduled);
    }
    outstanding++;
    exchange(pool, ex).then(
      (status) => {
        if (status !== 200) throw new Error(`status ${status}`);
        if (measured) latency.push(performance.now() - scheduled);
      },
    ).catch((err: unknown) => {
      if (measured) {
        errors++;
        error ??= (err as Error).message;
      }
    }).finally(() => {
      outstanding--;
      if (allSent && outstanding === 0) drained();
    });
  };

  let next = start;
  const tick = () => {
    const now = performance.now();
    if (!measuring && now >= measureFrom) {
      measuring = true;
      cpu0 = process.cpuUsage();
    }
    while (next <= now && next < end) {
      fire(next, now);
      next += interval;
    }
    if (next < end) {
      setTimeout(tick, Math.max(0, next - performance.now()));
      return;
    }
    allSent = true;
    if (outstanding === 0) drained();
  };
  setTimeout(tick, 2);
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, cmd.warmupMs + cmd.measureMs + DRAIN_MS + 1000).unref());
  await Promise.race([finished, timeout]);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - measureFrom;
  if (outstanding > 0) {
    errors += outstanding;
    error ??= `${outstanding} requests unanswered after ${DRAIN_MS} ms`;
  }
  await pool.destroy();
  return {
    latency: percentiles(latency.view()),
    sent,
    errors,
    error,
    achievedRate: (sent * 1000) / cmd.measureMs,
    lag: percentiles(lag.view()),
    cores: (cpu.user + cpu.system) / 1000 / wall,
  };
}
