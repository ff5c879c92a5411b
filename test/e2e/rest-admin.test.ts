import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, textCompletion, type FakeOpenAI } from "../support/fake-openai.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const UPSTREAM_KEY = "sk-upstream-rest-admin-0123456789";
const LOCAL_KEY = "sk-local-rest-admin-secret-0123456789";
/** The body of the integration guide's curl, byte for byte. */
const GUIDE_BODY = '{"base_url": "https://api.newprovider.com", "api_key": "new-provider-key", "model_names": ["new-model-1", "new-model-2"]}';

/** Calls the gateway with the admin key (or the given Authorization, or none for null) and reads the JSON answer. */
async function call(gateway: Gateway, method: string, path: string, body?: unknown, auth: string | null = `Bearer ${ADMIN_KEY}`) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${gateway.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text === "" ? undefined : JSON.parse(text)) as any };
}

function chatBody(model: string, content = "Say hello.") {
  return { model, messages: [{ role: "user", content }] };
}

/** The shape of every OpenAI error answer. */
const openAIError = { error: { message: expect.any(String), type: expect.any(String), param: expect.toSatisfy((v) => v === null || typeof v === "string"), code: expect.toSatisfy((v) => v === null || typeof v === "string") } };

describe("the REST provider admin API", () => {
  let fake: FakeOpenAI;
  let gateway: Gateway;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startTestGateway({ OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: fake.baseUrl, GATEWAY_MAX_BODY_BYTES: "2048" });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reply((req) => ({ status: 200, json: textCompletion(req.body.model, "Hello there!") }));
  });

  it("adds the integration guide's provider from its exact curl body, naming it after the host and masking its key", async () => {
    const res = await call(gateway, "POST", "/v1/providers", GUIDE_BODY);

    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ name: "newprovider", type: "openai", base_url: "https://api.newprovider.com", model_names: ["new-model-1", "new-model-2"] });
    expect(res.json.api_key).not.toBe("new-provider-key");
    expect(JSON.stringify(res.json)).not.toContain("new-provider-key");
    const got = await call(gateway, "GET", "/v1/providers/newprovider");
    expect(got.status).toBe(200);
    expect(JSON.stringify(got.json)).not.toContain("new-provider-key");
    const listed = await call(gateway, "GET", "/v1/providers");
    expect(listed.json.data.map((p: { name: string }) => p.name)).toContain("newprovider");
    expect(JSON.stringify(listed.json)).not.toContain("new-provider-key");
    expect(JSON.stringify(listed.json)).not.toContain(UPSTREAM_KEY);

    expect((await call(gateway, "DELETE", "/v1/providers/newprovider")).status).toBe(200);
  });

  it("refuses admin calls without the admin key with a 401 OpenAI error, and changes nothing", async () => {
    const missing = await call(gateway, "POST", "/v1/providers", GUIDE_BODY, null);
    const wrong = await call(gateway, "POST", "/v1/providers", GUIDE_BODY, "Bearer not-the-admin-key-at-all");
    const listing = await call(gateway, "GET", "/v1/providers", undefined, null);

    for (const res of [missing, wrong, listing]) {
      expect(res.status).toBe(401);
      expect(res.json).toEqual(openAIError);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    }
    expect((await call(gateway, "GET", "/v1/providers/newprovider")).status).toBe(404);
  });

  it("serves the next chat request from a provider added at run time, and answers 404 model_not_found once it is deleted", async () => {
    const created = await call(gateway, "POST", "/v1/providers", { base_url: fake.baseUrl, api_key: LOCAL_KEY, model_names: ["new-model-1"] });
    expect(created.status).toBe(201);
    const name: string = created.json.name;

    const answered = await call(gateway, "POST", "/v1/chat/completions", chatBody("new-model-1"));
    expect(answered.status).toBe(200);
    expect(answered.json.choices[0].message.content).toBe("Hello there!");
    expect(answered.headers.get("x-gateway-provider")).toBe(name);
    const sent = fake.requests.at(-1);
    expect(sent?.body.model).toBe("new-model-1");
    expect(sent?.headers.authorization).toBe(`Bearer ${LOCAL_KEY}`);

    const deleted = await call(gateway, "DELETE", `/v1/providers/${name}`);
    expect(deleted.status).toBe(200);
    const before = fake.requests.length;
    const gone = await call(gateway, "POST", "/v1/chat/completions", chatBody("new-model-1"));
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ error: { code: "model_not_found", param: "model", type: "invalid_request_error" } });
    expect(gone.json.error.message).toMatch(/\/v1\/models/);
    expect(fake.requests.length).toBe(before);
    expect((await call(gateway, "GET", `/v1/providers/${name}`)).status).toBe(404);
  });

  it("applies a PATCH to the next request, and keeps the real key when the masked one is sent back", async () => {
    const created = await call(gateway, "POST", "/v1/providers", { name: "patchable", base_url: fake.baseUrl, api_key: LOCAL_KEY, model_names: ["patch-model-a"] });
    expect(created.status).toBe(201);

    const patched = await call(gateway, "PATCH", "/v1/providers/patchable", { model_names: ["patch-model-b"], api_key: created.json.api_key });
    expect(patched.status).toBe(200);
    expect(patched.json.model_names).toEqual(["patch-model-b"]);

    expect((await call(gateway, "POST", "/v1/chat/completions", chatBody("patch-model-b"))).status).toBe(200);
    expect(fake.requests.at(-1)?.body.model).toBe("patch-model-b");
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${LOCAL_KEY}`);
    expect((await call(gateway, "POST", "/v1/chat/completions", chatBody("patch-model-a"))).status).toBe(404);
    expect((await call(gateway, "DELETE", "/v1/providers/patchable")).status).toBe(200);
  });

  it.each([
    ["a base_url that is not a URL", { base_url: "not a url", model_names: ["m"] }, "base_url"],
    ["a base_url that is not http(s)", { base_url: "ftp://files.example.com", model_names: ["m"] }, "base_url"],
    ["no base_url", { model_names: ["m"] }, "base_url"],
    ["an unknown field", { base_url: "https://api.example.com", model_names: ["m"], colour: "blue" }, "colour"],
    ["model_names that are not a list of names", { base_url: "https://api.example.com", model_names: "m" }, "model_names"],
    ["an unknown type", { base_url: "https://api.example.com", type: "mystery" }, "type"],
    ["an invalid name", { name: "Has Spaces", base_url: "https://api.example.com" }, "name"],
  ])("rejects %s with a 400 that names the field", async (_what, body, field) => {
    const res = await call(gateway, "POST", "/v1/providers", body);

    expect(res.status).toBe(400);
    expect(res.json).toEqual(openAIError);
    expect(res.json.error).toMatchObject({ type: "invalid_request_error", param: field });
    expect(res.json.error.message).toContain(field);
  });

  it("answers a body over GATEWAY_MAX_BODY_BYTES with 413, without calling the upstream", async () => {
    const before = fake.requests.length;
    const chat = await call(gateway, "POST", "/v1/chat/completions", chatBody("gpt-4o", "x".repeat(4096)));
    const admin = await call(gateway, "POST", "/v1/providers", { base_url: "https://api.example.com", model_names: Array.from({ length: 300 }, (_, i) => `model-${i}`) });

    expect(chat.status).toBe(413);
    expect(chat.json).toEqual(openAIError);
    expect(admin.status).toBe(413);
    expect(fake.requests.length).toBe(before);
  });

  it("lists the configured model names in OpenAI's shape, also under /v1/langchain", async () => {
    await call(gateway, "POST", "/v1/providers", { name: "listed", base_url: fake.baseUrl, model_names: ["listed-b", "listed-a"] });

    const res = await call(gateway, "GET", "/v1/models");
    expect(res.status).toBe(200);
    expect(res.json.object).toBe("list");
    const ids = res.json.data.map((m: { id: string }) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["listed-a", "listed-b"]));
    expect(res.json.data.find((m: { id: string }) => m.id === "listed-a")).toEqual({ id: "listed-a", object: "model", created: expect.any(Number), owned_by: "listed", deployments: ["listed/listed-a"] });
    expect((await call(gateway, "GET", "/v1/langchain/models")).json).toEqual(res.json);
    expect((await call(gateway, "GET", "/v1/models/listed-a")).json).toMatchObject({ id: "listed-a", object: "model" });
    expect((await call(gateway, "DELETE", "/v1/providers/listed")).status).toBe(200);
  });

  it("answers an unknown path with a 404 OpenAI error, and a wrong method with a 405 naming the allowed ones", async () => {
    const res = await call(gateway, "GET", "/v1/no-such-thing");
    expect(res.status).toBe(404);
    expect(res.json).toEqual(openAIError);

    const wrong = await call(gateway, "GET", "/v1/chat/completions");
    expect(wrong.status).toBe(405);
    expect(wrong.json).toEqual(openAIError);
    expect(wrong.headers.get("allow")).toBe("POST");
  });

  it("is live and ready", async () => {
    expect((await call(gateway, "GET", "/healthz", undefined, null)).status).toBe(200);
    const ready = await call(gateway, "GET", "/readyz", undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: "ready" });
  });

  it("keeps a provider across a restart when GATEWAY_DB_PATH is a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gateway-rest-admin-"));
    const env = { OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: fake.baseUrl, GATEWAY_DB_PATH: join(dir, "gateway.db") };
    try {
      const first = await startTestGateway(env);
      try {
        const created = await call(first, "POST", "/v1/providers", { name: "durable", base_url: fake.baseUrl, api_key: LOCAL_KEY, model_names: ["durable-model"] });
        expect(created.status).toBe(201);
      } finally {
        await first.close();
      }

      const second = await startTestGateway(env);
      try {
        const got = await call(second, "GET", "/v1/providers/durable");
        expect(got.status).toBe(200);
        expect(got.json).toMatchObject({ name: "durable", base_url: fake.baseUrl, model_names: ["durable-model"] });
        expect((await call(second, "POST", "/v1/chat/completions", chatBody("durable-model"))).status).toBe(200);
        expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${LOCAL_KEY}`);
        for (const logs of [first.logs, second.logs]) expect(logs.join("")).not.toContain(LOCAL_KEY);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("never writes an API key or message content to a log line, nor a key to /metrics", async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const logs = gateway.logs.join("");

    for (const secret of [UPSTREAM_KEY, LOCAL_KEY, "new-provider-key", ADMIN_KEY]) {
      expect(logs).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
    expect(logs).not.toContain("Say hello.");
    const chats = gateway.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "chat completion");
    expect(chats.length).toBeGreaterThan(0);
    for (const line of chats) expect(Object.keys(line)).toEqual(expect.arrayContaining(["request_id", "model", "status", "duration_ms"]));
    expect(chats).toContainEqual(expect.objectContaining({ model: "patch-model-b", provider: "patchable", status: 200 }));
  });
});
