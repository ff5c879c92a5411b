/**
 * What a failing deployment costs the clients of a model with two
 * deployments: the same gateway, in one process, serves a model route over
 * two local fake upstreams, in three set-ups measured in rotating rounds:
 *
 * - healthy: both deployments answer;
 * - one failing: one answers 503 to every request;
 * - one down: one refuses connections.
 *
 * Prints, per set-up, the success rate and the medians over rounds of p50,
 * p99 and max latency, and the latency added over the healthy set-up.
 *
 *   npm run bench:failover          (ROUNDS=5 REQUESTS=2000 CONCURRENCY=8 by default)
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { loadConfig } from "../src/config/config.ts";
import { startGateway, type Gateway } from "../src/gateway.ts";
import { createLogger } from "../src/log/logger.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const KEY = "bench-admin-key-0123456789";

function completion(model: string): string {
  return JSON.stringify({
    id: "chatcmpl-bench", object: "chat.completion", created: 1700000000, model,
    choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
  });
}

/** A fake upstream that answers every chat request, or fails every one with 503. */
async function upstream(fail: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => {
      if (fail) {
        res.writeHead(503, { "content-type": "application/json" });
        res.end('{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}');
        return;
      }
      const text = completion((JSON.parse(body) as { model: string }).model);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A URL on which nothing listens. */
async function refused(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/v1`;
}

async function admin(g: Gateway, path: string, body: unknown): Promise<void> {
  const res = await request(`${g.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`${path}: ${res.statusCode} ${text}`);
}

const good = await upstream(false);
const bad = await upstream(true);
const down = await refused();
const gateway = await startGateway(
  loadConfig({ PORT: "0", HOST: "127.0.0.1", GATEWAY_ADMIN_KEY: KEY, GATEWAY_DB_PATH: ":memory:", LOG_LEVEL: "error" }),
  { logger: createLogger({ level: "error" }) },
);
await admin(gateway, "/v1/providers", { name: "good", base_url: good.url });
await admin(gateway, "/v1/providers", { name: "bad", base_url: bad.url });
await admin(gateway, "/v1/providers", { name: "down", base_url: down });
const setups = [
  { name: "healthy", route: "healthy", deployments: [{ provider: "good", model: "m1" }, { provider: "good", model: "m2" }] },
  { name: "one failing (503)", route: "one-failing", deployments: [{ provider: "bad", model: "m" }, { provider: "good", model: "m" }] },
  { name: "one down (refused)", route: "one-down", deployments: [{ provider: "down", model: "m" }, { provider: "good", model: "m3" }] },
];
for (const s of setups) await admin(gateway, "/v1/model-routes", { name: s.route, strategy: "round-robin", deployments: s.deployments });

const client = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 60_000 });
const body = (model: string) => JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }] });

/** One round: REQUESTS requests at CONCURRENCY; latencies in ms and the count of successes. */
async function round(model: string): Promise<{ latencies: number[]; ok: number }> {
  const latencies: number[] = [];
  let ok = 0;
  let next = 0;
  const payload = body(model);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        const start = performance.now();
        const res = await request(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
          body: payload,
          dispatcher: client,
        });
        await res.body.text();
        latencies.push(performance.now() - start);
        if (res.statusCode === 200) ok++;
      }
    }),
  );
  return { latencies, ok };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

for (const s of setups) await round(s.route); // warm-up
const results = new Map(setups.map((s) => [s.name, { p50: [] as number[], p99: [] as number[], max: [] as number[], ok: 0, total: 0 }]));
for (let r = 0; r < ROUNDS; r++) {
  const order = setups.map((_, i) => setups[(i + r) % setups.length] as (typeof setups)[number]);
  for (const s of order) {
    const { latencies, ok } = await round(s.route);
    latencies.sort((a, b) => a - b);
    const acc = results.get(s.name) as NonNullable<ReturnType<typeof results.get>>;
    acc.p50.push(pct(latencies, 50));
    acc.p99.push(pct(latencies, 99));
    acc.max.push(latencies.at(-1) as number);
    acc.ok += ok;
    acc.total += latencies.length;
  }
}

const base = results.get("healthy") as NonNullable<ReturnType<typeof results.get>>;
console.log(`\n${ROUNDS} rounds × ${REQUESTS} requests at concurrency ${CONCURRENCY}; medians of the rounds\n`);
console.log("| set-up | success | p50 | p99 | max | added p50 | added p99 |");
console.log("|---|---|---|---|---|---|---|");
for (const [name, acc] of results) {
  const p50 = median(acc.p50);
  const p99 = median(acc.p99);
  console.log(
    `| ${name} | ${((100 * acc.ok) / acc.total).toFixed(2)}% (${acc.ok}/${acc.total}) | ${p50.toFixed(3)} ms | ${p99.toFixed(3)} ms | ${median(acc.max).toFixed(1)} ms | ${(p50 - median(base.p50)).toFixed(3)} ms | ${(p99 - median(base.p99)).toFixed(3)} ms |`,
  );
}
await client.close();
await gateway.close();
await good.close();
await bad.close();
