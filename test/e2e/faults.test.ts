/**
 * The fault suite of issue 6: fake upstreams that misbehave on purpose, one
 * test per case, each stating what the client must see and bounding how long
 * it may take. Two OpenAI-compatible upstreams, "a" and "b", serve each test's
 * own model route (fresh upstream model names, so no test inherits another's
 * circuit state); round-robin sends a route's first request to its first
 * deployment.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService, Role } from "../../gen/gateway/v1/chat_pb.js";
import { refusedUrl, startFaultUpstream, type Fault, type FaultUpstream } from "../support/fault-upstream.ts";
import { calls, FAULT_ENV, routingClient } from "../support/routing-client.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

let a: FaultUpstream;
let b: FaultUpstream;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
const { admin, route, chat, stream } = routingClient(() => gateway.url, "route");
const ENV = FAULT_ENV;

function queue(u: FaultUpstream, ...faults: Fault[]): void {
  u.next(...faults);
}

beforeAll(async () => {
  a = await startFaultUpstream({ name: "a" });
  b = await startFaultUpstream({ name: "b" });
  gateway = await startTestGateway(ENV);
  for (const [name, u] of [["pa", a], ["pb", b]] as const) {
    const res = await admin("POST", "/v1/providers", { name, type: "openai", base_url: u.url, api_key: `sk-${name}` });
    expect(res.status).toBe(201);
  }
  const res = await admin("POST", "/v1/providers", { name: "pdown", type: "openai", base_url: await refusedUrl() });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await gateway?.close();
  await a?.close();
  await b?.close();
});

describe("transient upstream errors are retried, then fail over", () => {
  it("429 with Retry-After: waits as told, then the same deployment answers", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "status", status: 429, headers: { "retry-after": "1" } });
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from a.");
    expect(r.headers.get("x-gateway-attempts")).toBe("2");
    expect(r.ms).toBeGreaterThanOrEqual(950);
    expect(r.ms).toBeLessThan(3000);
  });

  it("429 with a Retry-After beyond the longest backoff: fails over at once instead of waiting", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "status", status: 429, headers: { "retry-after": "30" } });
    const r = await chat(m);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
    expect(r.headers.get("x-gateway-provider")).toBe("pb");
    expect(r.headers.get("x-gateway-deployment")).toBe(`pb/${m}-m1`);
    expect(r.ms).toBeLessThan(2500);
    // The deployment asked to wait is skipped while another can answer.
    const again = await chat(m);
    expect(again.headers.get("x-gateway-provider")).toBe("pb");
    expect(calls(a, m)).toBe(1);
  });

  it("429 without Retry-After: retried after a short jittered backoff, then the next deployment answers", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "status", status: 429 }, { kind: "status", status: 429 });
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
    expect(r.headers.get("x-gateway-attempts")).toBe("3");
    expect(calls(a, m)).toBe(2);
    expect(r.ms).toBeLessThan(2500);
  });

  for (const status of [500, 503, 529]) {
    it(`${status}: retried once on the same deployment, then the next deployment answers`, async () => {
      const m = await route([{ provider: "pa" }, { provider: "pb" }]);
      queue(a, { kind: "status", status }, { kind: "status", status });
      const r = await chat(m);
      expect(r.status).toBe(200);
      expect(r.json.choices[0].message.content).toBe("Hello from b.");
      expect(r.headers.get("x-gateway-attempts")).toBe("3");
      expect(Number(r.headers.get("x-gateway-overhead-ms"))).toBeGreaterThanOrEqual(0);
      expect(r.ms).toBeLessThan(2500);
    });
  }

  it("a 500 that clears: the retry on the same deployment answers", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "status", status: 500 });
    const r = await chat(m);
    expect(r.json.choices[0].message.content).toBe("Hello from a.");
    expect(r.headers.get("x-gateway-attempts")).toBe("2");
  });

  it("connection refused: the next deployment answers", async () => {
    const m = await route([{ provider: "pdown" }, { provider: "pb" }]);
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
    expect(r.ms).toBeLessThan(2500);
  });

  it("a reset before the headers: retried, and the retry answers", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "reset" });
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from a.");
    expect(r.headers.get("x-gateway-attempts")).toBe("2");
  });

  it("malformed JSON in a 200: treated as an upstream failure and served elsewhere", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "malformed" }, { kind: "malformed" });
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
  });
});

describe("errors the caller caused are answered at once", () => {
  it("400: returned as the upstream said, after one attempt, the other deployment untouched", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "status", status: 400, body: { error: { message: "bad temperature", type: "invalid_request_error", param: "temperature", code: null } } });
    const r = await chat(m);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ message: "bad temperature", type: "invalid_request_error", param: "temperature" });
    expect(r.headers.get("x-gateway-attempts")).toBe("1");
    expect(calls(a, m)).toBe(1);
    expect(calls(b, m, 1)).toBe(0);
  });

  it("a context-length error is never resent to the same model, but goes to a fallback model", async () => {
    const big = await route([{ provider: "pb" }]);
    const m = await route([{ provider: "pa" }, { provider: "pb" }], { fallbacks: [big] });
    queue(a, {
      kind: "status",
      status: 400,
      body: { error: { message: "This model's maximum context length is 8192 tokens.", type: "invalid_request_error", param: "messages", code: "context_length_exceeded" } },
    });
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
    expect(calls(a, m)).toBe(1);
    expect(calls(b, m, 1)).toBe(0); // the same model's other deployment has the same window
    expect(calls(b, big)).toBe(1);
  });
});

describe("fallback models", () => {
  it("every deployment of the model failing: its route's fallback answers, and the answer names the model that answered", async () => {
    const second = await route([{ provider: "pb" }]);
    const m = await route([{ provider: "pa" }], { fallbacks: [second] });
    queue(a, { kind: "status", status: 503 }, { kind: "status", status: 503 });
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.model).toBe(`${second}-m0`);
    expect(r.headers.get("x-gateway-provider")).toBe("pb");
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gateway_fallbacks_total\\{model="${m}",result="success"\\} 1`));
  });

  it("a caller names fallbacks in the request body (\"fallbacks\"), which are never sent upstream", async () => {
    const second = await route([{ provider: "pb" }]);
    const m = await route([{ provider: "pa" }]);
    queue(a, { kind: "status", status: 502 }, { kind: "status", status: 502 });
    const r = await chat(m, { fallbacks: [second] });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
    const sent = b.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent.fallbacks).toBeUndefined();
  });

  it("over gRPC too: fallbacks in the request, and the answering provider and attempts in the response headers", async () => {
    const second = await route([{ provider: "pb" }]);
    const m = await route([{ provider: "pa" }]);
    queue(a, { kind: "status", status: 500 }, { kind: "status", status: 500 });
    const transport = createGrpcTransport({
      baseUrl: gateway.url,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
          return next(req);
        },
      ],
    });
    let headers: Headers | undefined;
    const res = await createClient(ChatService, transport).createChatCompletion(
      { model: m, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "Hi" } }] }], fallbacks: [second] },
      { onHeader: (h) => (headers = h) },
    );
    expect(res.choices[0]?.message?.content).toEqual([expect.objectContaining({ part: { case: "text", value: "Hello from b." } })]);
    expect(headers?.get("x-gateway-provider")).toBe("pb");
    expect(headers?.get("x-gateway-attempts")).toBe("3");
  });

  it("an invalid fallbacks field is a 400 naming it", async () => {
    const r = await chat("gpt-4o", { fallbacks: [""] });
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe("fallbacks[0]");
  });
});

describe("streams", () => {
  it("headers then silence: the first-token deadline fails over before any byte reaches the client", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }], { first_token_timeout_ms: 300 });
    queue(a, { kind: "silence" });
    const s = await stream(m);
    expect(s.status).toBe(200);
    expect(s.text).toBe("Hello from b.");
    expect(s.frames.at(-1)).toBe("[DONE]");
    expect(s.headers.get("x-gateway-provider")).toBe("pb");
    expect(s.ms).toBeGreaterThanOrEqual(290);
    expect(s.ms).toBeLessThan(2500);
  });

  it("a slow first token fails over to the next deployment", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }], { first_token_timeout_ms: 300 });
    queue(a, { kind: "ok", firstTokenDelayMs: 5000 });
    const s = await stream(m);
    expect(s.text).toBe("Hello from b.");
    expect(s.headers.get("x-gateway-attempts")).toBe("2");
    expect(s.ms).toBeLessThan(2500);
  });

  it("a stream cut mid-answer ends with the text so far and an in-band error, never [DONE], and is billed", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "cut", afterDeltas: 2 });
    const s = await stream(m);
    expect(s.status).toBe(200);
    expect(s.text.length).toBeGreaterThan(0);
    expect("Hello from a.".startsWith(s.text)).toBe(true);
    expect(s.frames).not.toContain("[DONE]");
    expect(s.frames.at(-1)).toMatchObject({ error: { type: "server_error" } });
    const records = await admin("GET", `/v1/usage/records?model=${m}`);
    const mine = records.json.data.filter((r: { requested_model: string }) => r.requested_model === m);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ status: 502, error_type: "upstream_unavailable", tokens_estimated: true });
    expect(mine[0].completion_tokens).toBeGreaterThan(0);
  });

  it("a stream that stalls mid-answer ends with an in-band timeout error within the stall timeout", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }], { stall_timeout_ms: 300 });
    queue(a, { kind: "stall", afterDeltas: 2 });
    const s = await stream(m);
    expect(s.frames.at(-1)).toMatchObject({ error: { type: "server_error", message: expect.stringMatching(/stalled/), code: "stream_stalled" } });
    expect(s.frames).not.toContain("[DONE]");
    expect(s.ms).toBeGreaterThanOrEqual(290);
    expect(s.ms).toBeLessThan(2500);
  });

  it("an in-band upstream error mid-stream ends the client's stream with the text so far and an in-band error", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "in-band-error", afterDeltas: 1 });
    const s = await stream(m);
    expect(s.text.length).toBeGreaterThan(0);
    expect("Hello from a.".startsWith(s.text)).toBe(true);
    expect(s.frames.at(-1)).toMatchObject({ error: { type: "server_error" } });
    expect(s.frames).not.toContain("[DONE]");
  });

  it("an upstream that closes after its finish chunk without [DONE] is complete, and finishes at once", async () => {
    const m = await route([{ provider: "pa" }]);
    queue(a, { kind: "no-done" });
    const s = await stream(m);
    expect(s.text).toBe("Hello from a.");
    expect(s.frames.at(-1)).toBe("[DONE]");
    expect(s.ms).toBeLessThan(1500);
  });

  it("with continuation on, a stream cut mid-answer continues on a prefill deployment: one whole answer", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb", supports_prefill: true }], { continue_on_failure: true });
    queue(a, { kind: "cut", afterDeltas: 2 });
    queue(b, { kind: "ok", text: " and the rest." });
    const s = await stream(m);
    expect(s.frames.at(-1)).toBe("[DONE]");
    const sent = b.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    const prefill = sent.messages.at(-1) as { role: string; content: string };
    expect(prefill.role).toBe("assistant");
    expect("Hello from a.".startsWith(prefill.content)).toBe(true);
    expect(s.text.startsWith(prefill.content)).toBe(true);
    expect(s.text.endsWith(" and the rest.")).toBe(true);
    // One opening: the continuation's role chunk is not passed on.
    expect(s.frames.filter((f: any) => f?.choices?.[0]?.delta?.role === "assistant")).toHaveLength(1);
  });

  it("when no fallback can continue, the in-band error stands and a fallback's rejection is never the final error", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb", supports_prefill: true }], { continue_on_failure: true });
    queue(a, { kind: "cut", afterDeltas: 1 });
    queue(b, { kind: "status", status: 400, body: { error: { message: "prefill not supported", type: "invalid_request_error", param: null, code: null } } });
    const s = await stream(m);
    const last = s.frames.at(-1) as { error: { message: string } };
    expect(last.error.message).not.toMatch(/prefill/);
    expect(s.frames).not.toContain("[DONE]");
  });

  it("a stream whose every deployment fails before output is a plain OpenAI error (the last failure's), not a stream", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pdown" }]);
    queue(a, { kind: "status", status: 503 }, { kind: "status", status: 503 });
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: m, messages: [{ role: "user", content: "Hi" }], stream: true }),
    });
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ error: { type: "server_error" } });
  });
});

describe("timeouts", () => {
  it("a unary body that never ends is cut by the total timeout and served elsewhere", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }], {});
    queue(a, { kind: "endless" }, { kind: "endless" });
    const r = await chat(m);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
    expect(r.ms).toBeLessThan(6000);
  });

  it("unary headers then silence: the idle timeout fails over", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    queue(a, { kind: "silence" }, { kind: "silence" });
    const r = await chat(m);
    expect(r.json.choices[0].message.content).toBe("Hello from b.");
    expect(r.ms).toBeLessThan(4500);
  });
});

describe("health", () => {
  it("an upstream that is down is cooled down and skipped, then taken back after it recovers", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    const c = await startFaultUpstream({ name: "c" });
    expect((await admin("POST", "/v1/providers", { name: "pc", type: "openai", base_url: c.url })).status).toBe(201);
    const m2 = await route([{ provider: "pc" }, { provider: "pb" }]);
    await c.stop();
    for (let i = 0; i < 6; i++) {
      const r = await chat(m2);
      expect(r.status).toBe(200);
      expect(r.json.choices[0].message.content).toBe("Hello from b.");
    }
    const deployments = await admin("GET", "/v1/deployments");
    const pc = deployments.json.data.find((d: { id: string }) => d.id === `pc/${m2}-m0`);
    expect(pc).toMatchObject({ state: "open", last_error: "upstream_unavailable" });
    expect(pc.cooldown_until).not.toBeNull();
    const during = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(during).toContain(`gateway_deployment_state{provider="pc",model="${m2}-m0"} 2`);
    expect(during).toContain(`gateway_deployment_state{provider="pb",model="${m2}-m1"} 0`);
    await c.restart();
    await new Promise((r) => setTimeout(r, 900)); // past the (doubled) cooldown
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add((await chat(m2)).json.choices[0].message.content);
    expect(answers.has("Hello from c.")).toBe(true);
    const after = await admin("GET", "/v1/deployments");
    expect(after.json.data.find((d: { id: string }) => d.id === `pc/${m2}-m0`)).toMatchObject({ state: "closed" });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gateway_deployment_cooldowns_total\\{provider="pc",model="${m2}-m0"\\} [1-9]`));
    await c.close();
    void m;
  });

  it("a single deployment is never cooled down to nothing: it is still tried when it is the only way", async () => {
    const m = await route([{ provider: "pa" }]);
    queue(a, ...Array.from({ length: 3 }, () => ({ kind: "status", status: 500 }) as Fault));
    const first = await chat(m); // two failures in a row open the circuit
    expect(first.status).toBe(500);
    expect(first.headers.get("x-gateway-attempts")).toBe("2");
    const second = await chat(m); // open, yet tried as the only way; no retry on an open circuit
    expect(second.status).toBe(500);
    expect(second.headers.get("x-gateway-attempts")).toBe("1");
    const r = await chat(m); // still open, and a answers again
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe("Hello from a.");
  });

  it("every deployment down: a clean OpenAI error, quickly", async () => {
    const m = await route([{ provider: "pdown" }, { provider: "pdown", model: "other" }]);
    const r = await chat(m);
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ type: "server_error" });
    expect(r.ms).toBeLessThan(3000);
  });
});

describe("readiness", () => {
  it("/readyz answers 503 unavailable while every known deployment is cooling down, and 200 once one recovers", async () => {
    const c = await startFaultUpstream({ name: "c" });
    const g = await startTestGateway({ ...ENV, GATEWAY_CIRCUIT_FAILURES: "1", GATEWAY_CIRCUIT_COOLDOWN_MS: "300" });
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${g.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      expect((await post("/v1/providers", { name: "pc", base_url: c.url, model_names: ["only"] })).status).toBe(201);
      expect((await fetch(`${g.url}/readyz`)).status).toBe(200);
      c.next({ kind: "status", status: 503 });
      expect((await post("/v1/chat/completions", { model: "only", messages: [{ role: "user", content: "Hi" }] })).status).toBe(503);
      const down = await fetch(`${g.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: "unavailable" });
      await new Promise((r) => setTimeout(r, 350));
      expect((await fetch(`${g.url}/readyz`)).status).toBe(200); // the cooldown is over: a trial may go
    } finally {
      await g.close();
      await c.close();
    }
  });
});

describe("deployment rate limits", () => {
  it("a deployment at its rpm is skipped for another; when every one is, 429 with Retry-After", async () => {
    const m = await route([
      { provider: "pa", rpm: 1 },
      { provider: "pb", rpm: 1 },
    ]);
    expect((await chat(m)).headers.get("x-gateway-provider")).toBe("pa");
    expect((await chat(m)).headers.get("x-gateway-provider")).toBe("pb");
    const r = await chat(m);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(r.json.error.code).toBe("rate_limit_exceeded");
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`gateway_deployment_rate_limited_total\\{provider="pa",model="${m}-m0"\\} [1-9]`));
  });
});

describe("load balancing", () => {
  it("weighted: 3:1 weights split 40 requests 30/10", async () => {
    const m = await route(
      [
        { provider: "pa", weight: 3 },
        { provider: "pb", weight: 1 },
      ],
      { strategy: "weighted" },
    );
    const by: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const p = (await chat(m)).headers.get("x-gateway-provider") as string;
      by[p] = (by[p] ?? 0) + 1;
    }
    expect(by).toEqual({ pa: 30, pb: 10 });
  });

  it("two deployments, one failing every request: every request succeeds", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    a.setDefault((req) => ((req.body as { model?: string }).model === `${m}-m0` ? { kind: "status", status: 503 } : { kind: "ok" }));
    try {
      const results = await Promise.all(Array.from({ length: 40 }, () => chat(m)));
      expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
    } finally {
      a.setDefault({ kind: "ok" });
    }
  });

  it("the model listing shows each model's deployments", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    const res = await fetch(`${gateway.url}/v1/models/${m}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(await res.json()).toMatchObject({ id: m, owned_by: "pa", deployments: [`pa/${m}-m0`, `pb/${m}-m1`] });
  });
});

describe("model routes from the config file", () => {
  it("serves a route the config file declares, and refuses to start on an invalid one, naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gw-config-"));
    try {
      const good = join(dir, "good.json");
      await writeFile(
        good,
        JSON.stringify({
          providers: [
            { name: "pa", base_url: a.url },
            { name: "pb", base_url: b.url },
          ],
          models: [{ name: "house", strategy: "round-robin", deployments: [{ provider: "pa", model: "house-a" }, { provider: "pb", model: "house-b" }] }],
        }),
      );
      const g = await startTestGateway({ ...ENV, GATEWAY_CONFIG: good });
      try {
        queue(a, { kind: "status", status: 503 }, { kind: "status", status: 503 });
        const res = await fetch(`${g.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "house", messages: [{ role: "user", content: "Hi" }] }),
        });
        expect(res.status).toBe(200);
        expect(res.headers.get("x-gateway-provider")).toBe("pb");
      } finally {
        await g.close();
      }
      const bad = join(dir, "bad.json");
      await writeFile(bad, JSON.stringify({ providers: [{ name: "pa", base_url: a.url }], models: [{ name: "house", deployments: [{ provider: "nobody", model: "x" }] }] }));
      await expect(startTestGateway({ ...ENV, GATEWAY_CONFIG: bad })).rejects.toThrowError(/models\[0\] \(house\): deployments\[0\]\.provider/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
