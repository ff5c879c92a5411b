import { Pool } from "undici";
import type { StreamsCommand, StreamsResult } from "../load-protocol.ts";
import { type Exchange, exchange } from "./exchange.ts";
import { percentiles, SampleBuffer } from "../stats.ts";

/** Opening of a content delta with some text in it; the role chunk's `"content":""` does not match. */
const CONTENT = Buffer.from('"content":"');
const DONE = Buffer.from("data: [DONE]");
const END_OF_EVENT = Buffer.from("\n\n");
const QUOTE = 34;

/** Reads one SSE stream, timing its first content delta and the gaps between deltas. */
async function oneStream(pool: Pool, ex: Exchange, deltas: number, ttft: SampleBuffer | undefined, gaps: SampleBuffer | undefined): Promise<void> {
  const start = performance.now();
  let carry: Buffer | undefined;
  let seen = 0;
  let last = 0;
  let done = false;
  let errorText = "";
  const status = await exchange(pool, ex, (chunk, now) => {
    // Only whole events count, at the arrival of their last byte.
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    const cut = buf.lastIndexOf(END_OF_EVENT) + 2;
    carry = cut < buf.length ? Buffer.from(buf.subarray(Math.max(cut, 0))) : undefined;
    if (errorText.length < 300) errorText += chunk.toString("latin1", 0, Math.min(chunk.length, 300));
    if (cut < 2) return;
    for (let at = buf.indexOf(CONTENT); at >= 0 && at < cut; at = buf.indexOf(CONTENT, at + CONTENT.length)) {
      if (buf[at + CONTENT.length] === QUOTE) continue;
      if (seen === 0) ttft?.push(now - start);
      else gaps?.push(now - last);
      last = now;
      seen++;
    }
    if (!done) {
      const d = buf.indexOf(DONE);
      done = d >= 0 && d < cut;
    }
  });
  if (status !== 200) throw new Error(`status ${status}: ${errorText.slice(0, 200)}`);
  if (seen !== deltas) throw new Error(`stream carried ${seen} content deltas, expected ${deltas}`);
  if (!done) throw new Error("stream ended without data: [DONE]");
}

/**
 * Runs `concurrency` connections, their starts spread over `spreadMs`, each
 * running `perWorker` streams back to back. With `warmAndTail`, the first
 * stream of each connection (connection set-up, warm-up) and the last (which
 * keeps the load up while others finish) are run but not sampled. A stream
 * is an error unless it is a 200 with exactly `deltas` content deltas and
 * ends with `data: [DONE]`.
 */
export async function runStreams(cmd: StreamsCommand): Promise<StreamsResult> {
  const url = new URL(cmd.target.url);
  const pool = new Pool(url.origin, { connections: cmd.concurrency, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const ex: Exchange = { path: url.pathname, headers: { ...cmd.target.headers, "content-length": String(Buffer.byteLength(cmd.body)) }, body: cmd.body };
  const ttft = new SampleBuffer();
  const gaps = new SampleBuffer();
  let streams = 0;
  let errors = 0;
  let error: string | undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (i: number) => {
    await new Promise((r) => setTimeout(r, (i * cmd.spreadMs) / cmd.concurrency));
    for (let s = 0; s < cmd.perWorker; s++) {
      const sampled = !cmd.warmAndTail || (s > 0 && s < cmd.perWorker - 1);
      streams++;
      try {
        await oneStream(pool, ex, cmd.deltas, sampled ? ttft : undefined, sampled ? gaps : undefined);
      } catch (err) {
        errors++;
        error ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: cmd.concurrency }, (_, i) => worker(i)));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  await pool.destroy();
  return { ttft: percentiles(ttft.view()), gap: percentiles(gaps.view()), streams, errors, error, wallMs, cores: (cpu.user + cpu.system) / 1000 / wallMs };
}
