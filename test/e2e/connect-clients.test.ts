import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChatService, FinishReason, Role, type StreamChatCompletionResponse } from "../../gen/gateway/v1/chat_pb.js";
import { ProviderAdminService, ProviderType } from "../../gen/gateway/v1/provider_admin_pb.js";
import { startFakeOpenAI, textCompletion, textStream, type FakeOpenAI } from "../support/fake-openai.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

const UPSTREAM_KEY = "sk-upstream-connect-0123456789";
const LOCAL_KEY = "sk-local-provider-secret-0123456789";

/** Sends the admin key (which is also a gateway key for chat calls) on every call. */
const withAdminKey: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
  return next(req);
};

type TransportFactory = (baseUrl: string, interceptors: Interceptor[]) => Transport;

const transports: [string, TransportFactory][] = [
  ["Connect over HTTP/1.1", (baseUrl, interceptors) => createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors })],
  ["Connect over HTTP/2", (baseUrl, interceptors) => createConnectTransport({ baseUrl, httpVersion: "2", interceptors })],
  ["gRPC over HTTP/2", (baseUrl, interceptors) => createGrpcTransport({ baseUrl, interceptors })],
  ["gRPC-Web over HTTP/1.1", (baseUrl, interceptors) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors })],
];

const userSaysHello = [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "Say hello." } }] }];

/** Resolves once `check` holds, polling every 20 ms; rejects after `ms`. */
async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The error a promise rejects with, or a failure when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

describe.each(transports)("the generated clients, %s", (_label, makeTransport) => {
  let fake: FakeOpenAI;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let chat: ReturnType<typeof createClient<typeof ChatService>>;
  let admin: ReturnType<typeof createClient<typeof ProviderAdminService>>;
  let anonymousAdmin: ReturnType<typeof createClient<typeof ProviderAdminService>>;
  let anonymousChat: ReturnType<typeof createClient<typeof ChatService>>;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startTestGateway({ OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: fake.baseUrl });
    const authed = makeTransport(gateway.url, [withAdminKey]);
    const anonymous = makeTransport(gateway.url, []);
    chat = createClient(ChatService, authed);
    admin = createClient(ProviderAdminService, authed);
    anonymousChat = createClient(ChatService, anonymous);
    anonymousAdmin = createClient(ProviderAdminService, anonymous);
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reply((req) =>
      req.body.stream ? { sse: textStream(req.body.model, ["Hello", " there", "!"]) } : { status: 200, json: textCompletion(req.body.model, "Hello there!") },
    );
  });

  describe("ChatService", () => {
    it("answers a unary completion with the upstream's text and usage, having sent the upstream the model, its key, the messages and the extra fields", async () => {
      const res = await chat.createChatCompletion({ model: "gpt-4o", messages: userSaysHello, temperature: 0.25, extra: { reasoning_effort: "low", vendor_flag: true } });

      expect(res.provider).toBe("openai");
      expect(res.model).toBe("gpt-4o");
      expect(res.choices).toHaveLength(1);
      expect(res.choices[0]?.finishReason).toBe(FinishReason.STOP);
      expect(res.choices[0]?.message?.content).toEqual([expect.objectContaining({ part: { case: "text", value: "Hello there!" } })]);
      expect(res.usage).toMatchObject({ promptTokens: 9, completionTokens: 3, totalTokens: 12, cachedTokens: 2 });
      const sent = fake.requests.at(-1);
      expect(sent?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(sent?.body).toMatchObject({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello." }], temperature: 0.25, reasoning_effort: "low", vendor_flag: true });
      expect(sent?.body.stream).toBeFalsy();
    });

    it("streams the start, the deltas and the finish, without a usage event when none was asked for", async () => {
      const events: StreamChatCompletionResponse["event"][] = [];
      for await (const res of chat.streamChatCompletion({ model: "gpt-4o", messages: userSaysHello })) events.push(res.event);

      expect(events[0]).toMatchObject({ case: "start", value: { provider: "openai", model: "gpt-4o" } });
      const text = events.map((e) => (e.case === "delta" ? e.value.content : "")).join("");
      expect(text).toBe("Hello there!");
      expect(events.filter((e) => e.case === "delta").length).toBeGreaterThanOrEqual(3);
      expect(events.at(-1)).toMatchObject({ case: "finish", value: { finishReason: FinishReason.STOP } });
      expect(events.some((e) => e.case === "usage")).toBe(false);
      const sent = fake.requests.at(-1)?.body;
      expect(sent).toMatchObject({ model: "gpt-4o", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Say hello." }] });
    });

    it("streams a final usage event when streamOptions.includeUsage is set", async () => {
      const events: StreamChatCompletionResponse["event"][] = [];
      const stream = chat.streamChatCompletion({ model: "gpt-4o", messages: userSaysHello, streamOptions: { includeUsage: true } });
      for await (const res of stream) events.push(res.event);

      expect(events.filter((e) => e.case === "usage")).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ case: "usage", value: { promptTokens: 9, completionTokens: 3, totalTokens: 12 } });
    });

    it("lists no models while no provider names any (environment providers route by pattern)", async () => {
      const res = await chat.listModels({});
      expect(res.models).toEqual([]);
    });

    it("answers an unknown model with NotFound, unary and streamed, without calling the upstream", async () => {
      const before = fake.requests.length;
      const unary = await rejection(chat.createChatCompletion({ model: "no-such-model", messages: userSaysHello }));
      const streamed = await rejection((async () => {
        for await (const _ of chat.streamChatCompletion({ model: "no-such-model", messages: userSaysHello })) {
          // no events expected
        }
      })());

      expect(unary.code).toBe(Code.NotFound);
      expect(unary.rawMessage).toMatch(/no-such-model/);
      expect(streamed.code).toBe(Code.NotFound);
      expect(fake.requests.length).toBe(before);
    });

    it("reports an upstream 429 as ResourceExhausted with its Retry-After, and an upstream 500 as Unavailable", async () => {
      fake.reply(() => ({ status: 429, headers: { "retry-after": "7" }, json: { error: { message: "Rate limit reached", type: "requests", param: null, code: "rate_limit_exceeded" } } }));
      const limited = await rejection(chat.createChatCompletion({ model: "gpt-4o", messages: userSaysHello }));
      expect(limited.code).toBe(Code.ResourceExhausted);
      expect(limited.metadata.get("retry-after")).toBe("7");

      fake.reply(() => ({ status: 500, json: { error: { message: "The server had an error", type: "server_error", param: null, code: null } } }));
      expect((await rejection(chat.createChatCompletion({ model: "gpt-4o", messages: userSaysHello }))).code).toBe(Code.Unavailable);
    });

    it("refuses a chat call without a gateway key with Unauthenticated", async () => {
      const err = await rejection(anonymousChat.createChatCompletion({ model: "gpt-4o", messages: userSaysHello }));
      expect(err.code).toBe(Code.Unauthenticated);
    });

    it("ends a stream that breaks after it started with an error, not a clean end", async () => {
      fake.reply((req) => ({ sse: textStream(req.body.model, ["Hello", " there"]).slice(0, 2), cut: true }));
      const texts: string[] = [];
      const err = await rejection((async () => {
        for await (const res of chat.streamChatCompletion({ model: "gpt-4o", messages: userSaysHello })) {
          if (res.event.case === "delta") texts.push(res.event.value.content);
        }
      })());

      expect(texts.join("")).toBe("Hello");
      expect(err.code).toBe(Code.Unavailable);
    });

    it("closes the upstream connection promptly when the client cancels a stream", async () => {
      fake.reply((req) => ({ sse: textStream(req.body.model, ["Hello"]).slice(0, 2), hang: true }));
      const closedBefore = fake.closedStreams;
      const controller = new AbortController();
      const consume = (async () => {
        for await (const res of chat.streamChatCompletion({ model: "gpt-4o", messages: userSaysHello }, { signal: controller.signal })) {
          if (res.event.case === "delta" && res.event.value.content === "Hello") controller.abort();
        }
      })();

      expect((await rejection(consume)).code).toBe(Code.Canceled);
      await eventually(() => fake.closedStreams > closedBefore, 2000);
    });
  });

  describe("ProviderAdminService", () => {
    it("refuses every call without the admin key with Unauthenticated", async () => {
      expect((await rejection(anonymousAdmin.listProviders({}))).code).toBe(Code.Unauthenticated);
      const create = anonymousAdmin.createProvider({ provider: { name: "sneaky", baseUrl: fake.baseUrl, modelNames: ["sneaky-model"] } });
      expect((await rejection(create)).code).toBe(Code.Unauthenticated);
      expect((await chat.listModels({})).models.map((m) => m.id)).not.toContain("sneaky-model");
    });

    it("creates, updates, lists and deletes a provider, each change applying to the next chat call, and never returns its key", async () => {
      const created = await admin.createProvider({ provider: { name: "local-fake", baseUrl: fake.baseUrl, apiKey: LOCAL_KEY, modelNames: ["new-model-1"] } });
      expect(created.provider).toMatchObject({ name: "local-fake", type: ProviderType.OPENAI, baseUrl: fake.baseUrl, modelNames: ["new-model-1"] });
      expect(created.provider?.apiKey).not.toBe(LOCAL_KEY);
      expect(created.provider?.apiKey).not.toContain("provider-secret");
      expect(created.provider?.createTime).toBeDefined();

      const first = await chat.createChatCompletion({ model: "new-model-1", messages: userSaysHello });
      expect(first.provider).toBe("local-fake");
      expect(fake.requests.at(-1)?.body.model).toBe("new-model-1");
      expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${LOCAL_KEY}`);

      const updated = await admin.updateProvider({
        provider: { name: "local-fake", modelNames: ["new-model-1", "new-model-2"], baseUrl: "https://not-applied.example" },
        updateMask: { paths: ["model_names"] },
      });
      expect(updated.provider).toMatchObject({ modelNames: ["new-model-1", "new-model-2"], baseUrl: fake.baseUrl });
      await chat.createChatCompletion({ model: "new-model-2", messages: userSaysHello });
      expect(fake.requests.at(-1)?.body.model).toBe("new-model-2");
      expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${LOCAL_KEY}`);
      expect((await chat.listModels({})).models).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: "new-model-1", provider: "local-fake" }), expect.objectContaining({ id: "new-model-2", provider: "local-fake" })]),
      );

      const listed = await admin.listProviders({});
      expect(listed.providers.map((p) => p.name)).toEqual(expect.arrayContaining(["openai", "local-fake"]));
      const everything = JSON.stringify(listed.providers, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
      expect(everything).not.toContain(LOCAL_KEY);
      expect(everything).not.toContain(UPSTREAM_KEY);
      expect((await admin.getProvider({ name: "local-fake" })).provider?.apiKey).not.toBe(LOCAL_KEY);

      await admin.deleteProvider({ name: "local-fake" });
      const before = fake.requests.length;
      expect((await rejection(chat.createChatCompletion({ model: "new-model-1", messages: userSaysHello }))).code).toBe(Code.NotFound);
      expect((await rejection(admin.getProvider({ name: "local-fake" }))).code).toBe(Code.NotFound);
      expect(fake.requests.length).toBe(before);
    });

    it("rejects an invalid provider with InvalidArgument", async () => {
      const err = await rejection(admin.createProvider({ provider: { name: "broken", baseUrl: "ftp://files.example", modelNames: ["x"] } }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/base_url/);
    });
  });
});
