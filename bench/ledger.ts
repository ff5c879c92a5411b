/**
 * What the usage ledger adds to a request: the same gateway, in one process,
 * once with the embedded ledger (journal plus SQLite writer thread, file
 * database) and once with a ledger that keeps nothing, measured in alternating rounds against a fast
 * local fake upstream at concurrency 1. Prints medians of the rounds' p50 and
 * p99 and the cost of one append on its own.
 *
 *   npm run bench:ledger            (ROUNDS=5 REQUESTS=2000 by default)
 */
import { mkdtemp, rm } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { loadConfig } from "../src/config/config.ts";
import { startGateway } from "../src/gateway.ts";
import { createLogger } from "../src/log/logger.ts";
import { openDatabase } from "../src/store/database.ts";
import { openJournaledLedger } from "../src/usage/journaled-ledger.ts";
import type { UsageLedger } from "../src/usage/usage-ledger.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const KEY = "bench-admin-key-0123456789";

const completion = JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1700000000, model: "gpt-4o",
  choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
});
const upstream = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(completion) });
    res.end(completion);
  });
});
await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;

const nothing: UsageLedger = {
  append: async () => {},
  list: async () => [],
  aggregate: async () => [],
  spentSince: async () => 0,
};

const dir = await mkdtemp(join(tmpdir(), "gw-bench-"));
const logger = createLogger({ level: "error" });
async function gateway(name: string, ledger?: UsageLedger) {
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", GATEWAY_ADMIN_KEY: KEY, GATEWAY_DB_PATH: join(dir, `${name}.db`), OPENAI_API_KEY: "sk-bench", OPENAI_BASE_URL: upstreamUrl });
  return startGateway(config, { logger, ledger });
}
const gateways = [await gateway("ledger"), await gateway("none", nothing), await gateway("none-again", nothing)];
const names = ["with the usage ledger", "no ledger", "no ledger, second instance (noise floor)"];

const agent = new Agent({ connections: 1 });
const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
async function measure(url: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await request(`${url}/v1/chat/completions`, { method: "POST", body, dispatcher: agent, headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" } });
    await res.body.text();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

for (const g of gateways) await measure(g.url, 500);
const rows = gateways.map(() => ({ p50: [] as number[], p99: [] as number[] }));
for (let round = 0; round < ROUNDS; round++) {
  // Rotate which gateway goes first, so none gains from the order.
  for (let k = 0; k < gateways.length; k++) {
    const i = (round + k) % gateways.length;
    const t = await measure((gateways[i] as (typeof gateways)[number]).url, REQUESTS);
    rows[i]?.p50.push(pct(t, 50));
    rows[i]?.p99.push(pct(t, 99));
  }
}

const db = openDatabase(join(dir, "micro.db"));
const ledger = openJournaledLedger({ dbPath: join(dir, "micro.db"), db, logger });
const appends = 20_000;
const appendTimes: number[] = [];
for (let i = 0; i < appends; i++) {
  const t0 = performance.now();
  await ledger.append({
    id: `r${i}:1`, requestId: `r${i}`, attempt: 1, time: new Date(), userId: "u", keyId: "k", provider: "openai",
    requestedModel: "gpt-4o", servedModel: "gpt-4o", promptTokens: 9, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0,
    costUsd: 0.00001, durationMs: 1, ttftMs: 0, status: 200, errorType: "", surface: "openai", streamed: false, tokensEstimated: false,
  });
  appendTimes.push(performance.now() - t0);
  if (i % 100 === 99) await new Promise((r) => setImmediate(r));
}
appendTimes.sort((x, y) => x - y);

const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
const [a, b, c] = rows.map((r) => ({ p50: median(r.p50), p99: median(r.p99) })) as [{ p50: number; p99: number }, { p50: number; p99: number }, { p50: number; p99: number }];
console.log(`\n${ROUNDS} rounds × ${REQUESTS} sequential requests, medians of the rounds:\n`);
console.log("| gateway | p50 | p99 |");
console.log("|---|---|---|");
for (const [i, r] of [a, b, c].entries()) console.log(`| ${names[i]} | ${fmt(r.p50)} | ${fmt(r.p99)} |`);
console.log(`| ledger − no ledger | ${fmt(a.p50 - b.p50)} | ${fmt(a.p99 - b.p99)} |`);
console.log(`| second − first no-ledger instance | ${fmt(c.p50 - b.p50)} | ${fmt(c.p99 - b.p99)} |`);
console.log(`\none ledger append on its own (${appends} appends): p50 ${(pct(appendTimes, 50) * 1000).toFixed(1)} µs, p99 ${(pct(appendTimes, 99) * 1000).toFixed(1)} µs\n`);

await ledger.close();
db.close();
for (const g of gateways) await g.close();
await agent.close();
upstream.close();
await rm(dir, { recursive: true, force: true });
