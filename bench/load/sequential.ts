import { Client } from "undici";
import type { SequentialCommand, SequentialResult } from "../load-protocol.ts";
import { percentiles, SampleBuffer } from "../stats.ts";
import { type Exchange, exchange } from "./exchange.ts";

/**
 * Sends `warmup` then `count` requests one after another on one keep-alive
 * connection and times each measured one, from send to the last body byte.
 * A non-200 answer or a transport failure counts as an error.
 */
export async function runSequential(cmd: SequentialCommand): Promise<SequentialResult> {
  const url = new URL(cmd.target.url);
  const client = new Client(url.origin, { keepAliveTimeout: 60_000, pipelining: 1 });
  const ex: Exchange = { path: url.pathname, headers: { ...cmd.target.headers, "content-length": String(Buffer.byteLength(cmd.body)) }, body: cmd.body };
  const samples = new SampleBuffer();
  let errors = 0;
  let error: string | undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < cmd.warmup + cmd.count; i++) {
    const start = performance.now();
    try {
      let text = "";
      const status = await exchange(client, ex, (chunk) => {
        if (text.length < 200) text += chunk.toString("latin1");
      });
      if (status !== 200) throw new Error(`status ${status}: ${text.slice(0, 200)}`);
      if (i >= cmd.warmup) samples.push(performance.now() - start);
    } catch (err) {
      errors++;
      error ??= (err as Error).message;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  await client.close();
  return { latency: percentiles(samples.view()), errors, error, cores: (cpu.user + cpu.system) / 1000 / wall };
}
