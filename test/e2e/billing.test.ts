import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, textCompletion, textStream, type FakeOpenAI } from "../support/fake-openai.ts";
import { spawnGateway } from "../support/spawn-gateway.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

async function admin(gateway: Gateway, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

function client(gateway: Gateway, apiKey: string) {
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
}

describe("keys, usage ledger and billing", () => {
  let fake: FakeOpenAI;
  let gateway: Gateway;
  let dir: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    dir = await mkdtemp(join(tmpdir(), "gw-billing-"));
    // A file database, so that the journaled ledger and its writer thread are what is tested.
    gateway = await startTestGateway({ OPENAI_API_KEY: "sk-upstream-secret-0123456789", OPENAI_BASE_URL: fake.baseUrl, GATEWAY_DB_PATH: join(dir, "g.db") });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses chat requests without a valid key, over REST and with the OpenAI error shape", async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_api_key", type: "invalid_request_error" } });
    await expect(client(gateway, "gw-not-a-key").chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 401 });
  });

  it("records two users' unary and streamed requests token for token as the upstream reported them", async () => {
    const alice = await admin(gateway, "POST", "/v1/keys", { user_id: "alice", name: "alice's app" });
    const bob = await admin(gateway, "POST", "/v1/keys", { user_id: "bob" });
    expect(alice.status).toBe(201);
    expect(alice.json.secret).toMatch(/^gw-/);
    const list = await admin(gateway, "GET", "/v1/keys");
    expect(JSON.stringify(list.json)).not.toContain(alice.json.secret);

    fake.reply((req) =>
      req.body.stream
        ? { sse: textStream(req.body.model, ["a", "b"], { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 }) }
        : { status: 200, json: textCompletion(req.body.model, "ok") },
    );
    const messages = [{ role: "user" as const, content: "hi" }];
    await client(gateway, alice.json.secret).chat.completions.create({ model: "gpt-4o", messages });
    for await (const _ of await client(gateway, alice.json.secret).chat.completions.create({ model: "gpt-4o", messages, stream: true })) {
      // drain
    }
    for await (const _ of await client(gateway, bob.json.secret).chat.completions.create({ model: "gpt-4o-mini", messages, stream: true })) {
      // drain
    }
    // The gateway asked for usage upstream although the client did not.
    expect(fake.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });

    const usage = await admin(gateway, "GET", "/v1/usage?group_by=user,model");
    expect(usage.json.data).toEqual([
      expect.objectContaining({ user_id: "alice", model: "gpt-4o", requests: 2, prompt_tokens: 9 + 11, completion_tokens: 3 + 7, cached_tokens: 2 }),
      expect.objectContaining({ user_id: "bob", model: "gpt-4o-mini", requests: 1, prompt_tokens: 11, completion_tokens: 7 }),
    ]);
    const bobCost = usage.json.data[1].cost_usd;
    expect(bobCost).toBeCloseTo((11 * 0.15 + 7 * 0.6) / 1e6, 12);

    const records = await admin(gateway, "GET", "/v1/usage/records?user_id=alice");
    expect(records.json.data).toHaveLength(2);
    expect(records.json.data[1]).toMatchObject({ attempt: 1, provider: "openai", served_model: "gpt-4o", streamed: true, status: 200, surface: "openai", tokens_estimated: false, key_id: alice.json.id });
    expect(records.json.data[1].id).toMatch(/^[0-9a-f-]{36}:1$/);

    const me = await fetch(`${gateway.url}/v1/usage/me`, { headers: { authorization: `Bearer ${bob.json.secret}` } });
    expect(await me.json()).toMatchObject({ user_id: "bob", data: [expect.objectContaining({ model: "gpt-4o-mini", requests: 1 })] });

    const csv = await fetch(`${gateway.url}/v1/usage/export?format=csv`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const lines = (await csv.text()).trim().split("\n");
    expect(lines[0]).toBe("id,request_id,attempt,time,user_id,key_id,provider,requested_model,served_model,prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,cost_usd,duration_ms,ttft_ms,status,error_type,surface,streamed,tokens_estimated");
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const jsonl = await fetch(`${gateway.url}/v1/usage/export?format=jsonl&user_id=bob`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect((await jsonl.text()).trim().split("\n").map((l) => JSON.parse(l).user_id)).toEqual(["bob"]);
  });

  it("refuses a revoked key on the next request", async () => {
    const k = await admin(gateway, "POST", "/v1/keys", { user_id: "carol" });
    const c = client(gateway, k.json.secret);
    await c.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    expect((await admin(gateway, "DELETE", `/v1/keys/${k.json.id}`)).json.revoked_at).not.toBeNull();
    await expect(c.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 401 });
  });

  it("gives a key limited to some models a 403 for others", async () => {
    const k = await admin(gateway, "POST", "/v1/keys", { user_id: "dave", models: ["gpt-4o-mini"] });
    await expect(client(gateway, k.json.secret).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 403 });
  });

  it("enforces a key's rpm with 429 and Retry-After", async () => {
    const k = await admin(gateway, "POST", "/v1/keys", { user_id: "erin", rpm: 2 });
    const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", body, headers: { authorization: `Bearer ${k.json.secret}` } });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
      await res.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it("keeps one record per request even when clients reuse an x-request-id", async () => {
    const k = await admin(gateway, "POST", "/v1/keys", { user_id: "heidi" });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${k.json.secret}`, "x-request-id": "fixed-id" },
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.headers.get("x-request-id")).toBe("fixed-id");
      await res.json();
    }
    const records = await admin(gateway, "GET", "/v1/usage/records?user_id=heidi");
    expect(records.json.data).toHaveLength(3);
    expect(new Set(records.json.data.map((r: { id: string }) => r.id)).size).toBe(3);
  });

  it("bounds a budgeted request without a token limit, and counts special tokens as text", async () => {
    const frames = textStream("gpt-4o", ["<|endoftext|>", " done"]).filter((f) => !f.includes('"usage"'));
    fake.reply(() => ({ sse: frames }));
    const k = await admin(gateway, "POST", "/v1/keys", { user_id: "ivan", budget_usd: 1 });
    const c = client(gateway, k.json.secret);
    for await (const _ of await c.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "say <|endoftext|>" }], stream: true })) {
      // drain
    }
    expect(fake.requests.at(-1)?.body.max_completion_tokens).toBe(4096);
    const records = await admin(gateway, "GET", "/v1/usage/records?user_id=ivan");
    expect(records.json.data).toEqual([expect.objectContaining({ tokens_estimated: true, status: 200 })]);
    expect(records.json.data[0].completion_tokens).toBeGreaterThan(0);
    const key = await admin(gateway, "GET", `/v1/keys/${k.json.id}`);
    expect(key.json.spent_usd).toBeCloseTo(records.json.data[0].cost_usd, 12);
  });

  it("rejects a usage time it cannot read", async () => {
    const res = await admin(gateway, "GET", "/v1/usage?to=99999999999999");
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe("to");
  });

  it("holds 20 concurrent requests to a budget that allows 5", async () => {
    // Each request may cost up to $1 (max_tokens 1M at $1 per million output tokens) and does.
    await admin(gateway, "PUT", "/v1/prices", { provider: "openai", model: "budget-model", input_per_mtok: 0, output_per_mtok: 1 });
    await admin(gateway, "PATCH", "/v1/providers/openai", { model_names: ["budget-model"] });
    fake.reply((req) => ({ status: 200, json: { ...textCompletion(req.body.model, "ok"), usage: { prompt_tokens: 9, completion_tokens: 1_000_000, total_tokens: 1_000_009 } } }));
    const k = await admin(gateway, "POST", "/v1/keys", { user_id: "frank", budget_usd: 5, budget_period: "month" });
    const c = client(gateway, k.json.secret);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => c.chat.completions.create({ model: "budget-model", max_tokens: 1_000_000, messages: [{ role: "user", content: "x" }] })),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter((r) => r.status === "rejected");
    expect(ok).toBe(5);
    expect(refused[0]).toMatchObject({ reason: { status: 429, error: { type: "insufficient_quota" } } });
    const spent = (await admin(gateway, "GET", `/v1/keys/${k.json.id}`)).json.spent_usd;
    expect(spent).toBeCloseTo(5, 9);
  });
});

describe("a response's ledger record", () => {
  it("survives the gateway being killed with SIGKILL right after the response", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gw-kill-"));
    const fake = await startFakeOpenAI();
    const dbPath = join(dir, "gateway.db");
    const gw = await spawnGateway({ GATEWAY_ADMIN_KEY: ADMIN_KEY, GATEWAY_DB_PATH: dbPath, OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: fake.baseUrl });
    try {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      });
      const requestId = res.headers.get("x-request-id");
      await res.json();
      await gw.stop("SIGKILL");
      // The record is in the journal or already in the database; the next start replays the journal.
      const again = await startTestGateway({ GATEWAY_DB_PATH: dbPath });
      try {
        const res2 = await fetch(`${again.url}/v1/usage/records`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        const records = ((await res2.json()) as { data: { request_id: string }[] }).data;
        expect(records.find((r) => r.request_id === requestId)).toMatchObject({ user_id: "admin", prompt_tokens: 9, completion_tokens: 3, status: 200 });
      } finally {
        await again.close();
      }
      const db = new DatabaseSync(dbPath);
      expect(db.prepare("SELECT COUNT(*) AS n FROM usage_records WHERE request_id = ?").get(requestId)).toEqual({ n: 1 });
      db.close();
    } finally {
      gw.child.kill("SIGKILL");
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
