import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAdminService } from "../../gen/gateway/v1/key_admin_pb.js";
import { UsageService } from "../../gen/gateway/v1/usage_pb.js";
import { startFakeOpenAI, textStream, type FakeOpenAI } from "../support/fake-openai.ts";
import { spawnGateway } from "../support/spawn-gateway.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

/** Streams frames without a usage chunk, slowly. */
function slowStreamWithoutUsage(model: string, parts: string[], delayMs: number) {
  const frames = textStream(model, parts).filter((f) => !f.includes('"usage"'));
  return { sse: frames, delayMs };
}

describe("graceful shutdown", () => {
  it("lets an in-flight stream finish, refuses new connections, then closes", async () => {
    const fake = await startFakeOpenAI();
    const gateway = await startTestGateway({ OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: fake.baseUrl, GATEWAY_SHUTDOWN_TIMEOUT_MS: "5000" });
    try {
      fake.reply((req) => slowStreamWithoutUsage(req.body.model, ["a", "b", "c", "d", "e"], 60));
      const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true });
      const closing = gateway.close();
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe("abcde");
      await closing;
      await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
    } finally {
      await fake.close();
    }
  });

  it("cuts a stream that outlives the bound, and the client sees it fail", async () => {
    const fake = await startFakeOpenAI();
    const gateway = await startTestGateway({ OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: fake.baseUrl, GATEWAY_SHUTDOWN_TIMEOUT_MS: "200" });
    try {
      fake.reply((req) => slowStreamWithoutUsage(req.body.model, Array.from({ length: 50 }, () => "x"), 50));
      const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true });
      const started = Date.now();
      const closing = gateway.close();
      const drain = async () => {
        for await (const _ of stream) {
          // keep reading
        }
      };
      await expect(drain()).rejects.toThrow();
      await closing;
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await fake.close();
    }
  });
});

describe("usage of interrupted and drained requests", () => {
  let fake: FakeOpenAI;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startTestGateway({ OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: fake.baseUrl });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });

  it("bills a client that disconnects mid-stream for what was generated, counted by the gateway", async () => {
    fake.reply((req) => slowStreamWithoutUsage(req.body.model, ["one ", "two ", "three ", "four ", "five ", "six "], 80));
    const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "count" }], stream: true }, { signal: controller.signal });
    let received = "";
    try {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? "";
        if (received.includes("two")) controller.abort();
      }
    } catch {
      // The SDK may end the iteration quietly or throw on abort; either is a disconnect.
    }
    expect(received).toBe("one two ");
    const usage = createClient(UsageService, createConnectTransport({ baseUrl: gateway.url, httpVersion: "1.1" }));
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    let record;
    for (let i = 0; i < 50 && !record; i++) {
      record = (await usage.listUsageRecords({}, { headers })).records.find((r) => r.errorType === "canceled");
      if (!record) await new Promise((r) => setTimeout(r, 50));
    }
    expect(record).toMatchObject({ tokensEstimated: true, streamed: true, surface: "openai" });
    expect(Number(record?.completionTokens)).toBeGreaterThanOrEqual(2);
    expect(Number(record?.completionTokens)).toBeLessThan(6);
    expect(Number(record?.promptTokens)).toBeGreaterThan(0);
  });

  it("ends a stream at [DONE] even when the upstream keeps the connection open", async () => {
    fake.reply((req) => ({ sse: textStream(req.body.model, ["a", "b"]), hang: true }));
    const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const started = Date.now();
    let text = "";
    for await (const chunk of await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true })) {
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe("ab");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("manages keys and reads usage over Connect with the admin key, and a key's own usage with the key", async () => {
    const transport = createConnectTransport({ baseUrl: gateway.url, httpVersion: "2" });
    const keys = createClient(KeyAdminService, transport);
    const usage = createClient(UsageService, transport);
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const { key, secret } = await keys.createKey({ key: { userId: "grace", models: ["gpt-4o"], rpm: 10 } }, { headers });
    expect(key).toMatchObject({ userId: "grace", models: ["gpt-4o"], rpm: 10 });
    fake.reply((req) => ({ sse: textStream(req.body.model, ["hi"], { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 }) }));
    const client = new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    for await (const _ of await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true })) {
      // drain
    }
    const mine = await usage.getMyUsage({}, { headers: { authorization: `Bearer ${secret}` } });
    expect(mine.groups).toEqual([expect.objectContaining({ model: "gpt-4o", requests: 1n, promptTokens: 5n, completionTokens: 1n })]);
    const all = await usage.getUsage({ groupBy: ["user"] }, { headers });
    expect(all.groups.find((g) => g.userId === "grace")).toMatchObject({ requests: 1n });
    const exported = [];
    for await (const r of usage.exportUsage({ filter: { userId: "grace" } }, { headers })) exported.push(r.record);
    expect(exported).toHaveLength(1);
    const updated = await keys.updateKey({ key: { id: key?.id, rpm: 20 }, updateMask: { paths: ["rpm"] } }, { headers });
    expect(updated.key).toMatchObject({ rpm: 20, models: ["gpt-4o"] });
    const revoked = await keys.deleteKey({ id: key?.id }, { headers });
    expect(revoked.key?.revokeTime).toBeDefined();
    await expect(client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 401 });
    await expect(keys.listKeys({}, { headers: { authorization: `Bearer ${secret}` } })).rejects.toThrow(/unauthenticated/i);
  });
});

describe("SIGTERM", () => {
  it("writes every pending ledger record to the database before the process exits", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gw-term-"));
    const fake = await startFakeOpenAI();
    const dbPath = join(dir, "gateway.db");
    const gw = await spawnGateway({ GATEWAY_ADMIN_KEY: ADMIN_KEY, GATEWAY_DB_PATH: dbPath, OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: fake.baseUrl });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
        });
        ids.push(res.headers.get("x-request-id") as string);
        await res.json();
      }
      expect(await gw.stop("SIGTERM")).toBe(0);
      const db = new DatabaseSync(dbPath);
      const n = db.prepare(`SELECT COUNT(*) AS n FROM usage_records WHERE request_id IN (${ids.map(() => "?").join(",")})`).get(...ids);
      db.close();
      expect(n).toEqual({ n: 20 });
    } finally {
      gw.child.kill("SIGKILL");
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
