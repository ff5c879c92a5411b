/**
 * Review of the request path rewritten for issue 6 (resilient routing): each
 * test below guards against one defect found by reading chat-engine, attempt,
 * failover, deployment health, accounting and the two surfaces (each was an
 * `it.fails` until it was fixed). The setup follows the fault suite: fake OpenAI-compatible
 * upstreams "a" and "b" on port 0, a real gateway on port 0, and one fresh
 * model route per test.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatService, Role } from "../../gen/gateway/v1/chat_pb.js";
import { startFaultUpstream, type Fault, type FaultUpstream } from "../support/fault-upstream.ts";
import { calls, FAULT_ENV, routingClient } from "../support/routing-client.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

let a: FaultUpstream;
let b: FaultUpstream;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
const { admin, route, chat, stream } = routingClient(() => gateway.url, "review");
const ENV = FAULT_ENV;

const withAdminKey: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
  return next(req);
};

const hi = [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "Hi" } }] }];

async function deployment(id: string): Promise<any> {
  return (await admin("GET", "/v1/deployments")).json.data.find((d: { id: string }) => d.id === id);
}

beforeAll(async () => {
  a = await startFaultUpstream({ name: "a" });
  b = await startFaultUpstream({ name: "b" });
  gateway = await startTestGateway(ENV);
  for (const [name, u] of [["pa", a], ["pb", b]] as const) {
    const res = await admin("POST", "/v1/providers", { name, type: "openai", base_url: u.url, api_key: `sk-${name}` });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  await gateway?.close();
  await a?.close();
  await b?.close();
});

describe("usage estimates", () => {
  // src/usage/token-counter-worker.ts count (reached from src/usage/accounting.ts record → estimate):
  // js-tiktoken's byte-pair merge is quadratic in the length of one pre-tokenized piece, so a prompt
  // of one long "word" costs seconds to count (3,000 chars ≈ 0.6 s, 20,000 ≈ 28 s; the body limit is
  // 16 MB). Any caller can trigger it: an upstream that reports no usage, a cancel or a timeout before
  // the first token. The attempt's record awaits the count, so the response waits for it; and since
  // the one counting thread answers in order, every later request that needs an estimate (its last
  // bytes, its ledger line, its budget settlement) waits behind it too: one request stalls them all.
  // Fix: bound the work: count pieces longer than a few hundred characters as bytes / 4 (or split
  // them), cap the text counted per request (bytes / 4 beyond it), and give a count a deadline after
  // which the record falls back to the byte estimate.
  let m: string;
  beforeAll(async () => {
    m = await route([{ provider: "pa" }]);
    a.next({ kind: "ok", usage: false });
    await chat(m); // starts the counting thread and loads the encoding
  });

  it("a prompt of one long word whose upstream reports no usage is answered without a long token count", async () => {
    a.next({ kind: "ok", usage: false });
    // One 20,000-character word took the encoder 28 s before the fix.
    const r = await chat(m, { messages: [{ role: "user", content: "x".repeat(20_000) }] });
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(2000);
  });
});

describe("stream stall deadline", () => {
  // src/chat/chat-engine.ts stream() → events() (and openStream): the stall deadline is refreshed
  // only by decoded events, never by bytes, so an upstream that keeps the stream alive with SSE
  // comments (OpenRouter's ": OPENROUTER PROCESSING", Anthropic's `ping`) while it works is cut as
  // "stalled: it sent no data", contradicting issue 6 ("a stall timeout (no bytes for N seconds)")
  // and the README ("one silent for stall_timeout_ms").
  // Fix: touch the attempt on every body chunk (e.g. an `onBytes` hook on UpstreamCall that
  // streamUpstream calls, or have the adapter yield a keep-alive marker the engine consumes).
  it("an upstream that sends keep-alive comments mid-answer is not stalled", async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on("end", async () => {
        const chunk = (delta: unknown, finish: string | null) =>
          `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "k", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(chunk({ role: "assistant", content: "" }, null) + chunk({ content: "Hello" }, null));
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 100));
          if (res.destroyed) return;
          res.write(": keep-alive\n\n");
        }
        res.end(chunk({ content: " world" }, null) + chunk({}, "stop") + "data: [DONE]\n\n");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      expect((await admin("POST", "/v1/providers", { name: "pkeepalive", type: "openai", base_url: `http://127.0.0.1:${port}/v1` })).status).toBe(201);
      const m = await route([{ provider: "pkeepalive" }], { stall_timeout_ms: 250 });
      const s = await stream(m);
      expect(s.text).toBe("Hello world");
      expect(s.frames.at(-1)).toBe("[DONE]");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("Retry-After", () => {
  // src/chat/attempt.ts end(): only a 429 with Retry-After calls `health.backOff`; a 503 (or an
  // Anthropic 529) with a Retry-After beyond GATEWAY_RETRY_MAX_BACKOFF_MS fails over at once
  // (failover.ts) but the deployment is not kept out, so the next requests are sent to it again,
  // although the README says "a longer one fails over at once and keeps the deployment out until then".
  // Fix: in end(), call `health.backOff(d, err.retryAfterSeconds)` for every retryable error that
  // carries a Retry-After (still counting 5xx as a failure for the circuit).
  it("a 503 with a long Retry-After keeps the deployment out, not only a 429", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb" }]);
    a.next({ kind: "status", status: 503, headers: { "retry-after": "30" } });
    const first = await chat(m);
    expect(first.headers.get("x-gateway-provider")).toBe("pb");
    for (let i = 0; i < 3; i++) expect((await chat(m)).headers.get("x-gateway-provider")).toBe("pb"); // round-robin starts at a every other request
    expect(calls(a, m)).toBe(1);
    expect((await deployment(`pa/${m}-m0`)).cooldown_until).not.toBeNull();
  });
});

describe("stream continuation", () => {
  // src/chat/chat-engine.ts continueStream(): the prefill is `partial.trimEnd()` (Anthropic rejects
  // a trailing assistant message that ends in whitespace), but the client has already received the
  // untrimmed text. The continuing model, not knowing about the trailing space, opens with it again
  // (" from b."), so the client gets "Hello  from b.": the one whole answer has a doubled space (or
  // newline, or indentation in code).
  // Fix: remember what trimEnd removed and drop that much leading whitespace from the
  // continuation's first text delta (or send the untrimmed partial where the deployment accepts it).
  it("a stream cut after a space continues without doubling that space", async () => {
    const m = await route([{ provider: "pa" }, { provider: "pb", supports_prefill: true }], { continue_on_failure: true });
    a.next({ kind: "cut", afterDeltas: 1 }); // "Hello " then the connection drops
    b.next({ kind: "ok", text: " from b." } satisfies Fault); // what a model continuing "Hello" sends
    const s = await stream(m);
    expect(s.frames.at(-1)).toBe("[DONE]");
    const sent = b.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    expect(sent.messages.at(-1)).toEqual({ role: "assistant", content: "Hello" });
    expect(s.text).toBe("Hello from b.");
  });
});

describe("Connect errors", () => {
  // src/rpc/connect-errors.ts toConnectError (used by src/rpc/chat-service.ts): a failed request
  // over REST carries `x-gateway-attempts` (http-io.ts sendError), the same failure over Connect /
  // gRPC does not, though the failover sets `GatewayError.attempts` for both.
  // Fix: in toConnectError, `if (e.attempts !== undefined) metadata.set("x-gateway-attempts", String(e.attempts))`.
  it("a failed completion over gRPC says how many attempts it took, as over REST", async () => {
    const m = await route([{ provider: "pa" }]);
    a.next({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    const client = createClient(ChatService, createGrpcTransport({ baseUrl: gateway.url, interceptors: [withAdminKey] }));
    const err = await client.createChatCompletion({ model: m, messages: hi }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.rawMessage).toMatch(/Service Unavailable/);
    expect(err?.metadata.get("x-gateway-attempts")).toBe("2");
  });
});
