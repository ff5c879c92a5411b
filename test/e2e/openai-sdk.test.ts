import OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, textCompletion, textStream, toolCallCompletion, toolCallStream, type FakeOpenAI } from "../support/fake-openai.ts";
import { fixtureBody } from "../support/fixtures.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

const UPSTREAM_KEY = "sk-upstream-openai-sdk-0123456789";

const messages: ChatCompletionMessageParam[] = [
  { role: "system", content: "You answer briefly." },
  { role: "user", content: [{ type: "text", text: "Say hello." }] },
];

const weatherTool: ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  },
};

/** Resolves once `check` holds, polling every 20 ms; rejects after `ms`. */
async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the official openai SDK through the gateway", () => {
  let fake: FakeOpenAI;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startTestGateway({ OPENAI_API_KEY: UPSTREAM_KEY, OPENAI_BASE_URL: fake.baseUrl });
    // Chat calls need a gateway key; the admin key is one.
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
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

  describe("completions", () => {
    it("returns the upstream's content and usage, having sent the upstream the model, its configured key and the messages unchanged", async () => {
      const completion = await client.chat.completions.create({ model: "gpt-4o", messages });

      expect(completion.object).toBe("chat.completion");
      expect(completion.choices[0]?.message.content).toBe("Hello there!");
      expect(completion.choices[0]?.finish_reason).toBe("stop");
      expect(completion.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 2 } });
      const sent = fake.requests.at(-1);
      expect(sent?.method).toBe("POST");
      expect(sent?.url).toBe("/v1/chat/completions");
      expect(sent?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(sent?.body.model).toBe("gpt-4o");
      expect(sent?.body.messages).toEqual(messages);
      expect(sent?.body.stream).toBeFalsy();
    });

    it("does not forward the client's gateway key to the upstream", async () => {
      await client.chat.completions.create({ model: "gpt-4o", messages });
      expect(JSON.stringify(fake.requests.at(-1)?.headers)).not.toContain(ADMIN_KEY);
    });

    it("passes request fields the gateway does not name to the upstream unchanged", async () => {
      const vendor = { vendor_options: { cache: "aggressive", depth: 2, tags: ["a", "b"] } };
      const body: ChatCompletionCreateParamsNonStreaming = { model: "o3-mini", messages, reasoning_effort: "low", ...vendor };
      await client.chat.completions.create(body);

      const sent = fake.requests.at(-1)?.body;
      expect(sent.model).toBe("o3-mini");
      expect(sent.reasoning_effort).toBe("low");
      expect(sent.vendor_options).toEqual(vendor.vendor_options);
    });

    it("sends a model named as openai/gpt-4o upstream as gpt-4o", async () => {
      const completion = await client.chat.completions.create({ model: "openai/gpt-4o", messages });

      expect(completion.choices[0]?.message.content).toBe("Hello there!");
      expect(fake.requests.at(-1)?.body.model).toBe("gpt-4o");
    });
  });

  describe("streams", () => {
    it("streams the chunks without a usage chunk when the client did not ask for usage, although the gateway asked the upstream for it", async () => {
      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of await client.chat.completions.create({ model: "gpt-4o", messages, stream: true })) chunks.push(chunk);

      expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello there!");
      expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
      expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.choices.length === 1)).toBe(true);
      expect(chunks.some((c) => c.usage)).toBe(false);
      const sent = fake.requests.at(-1)?.body;
      expect(sent.stream).toBe(true);
      expect(sent.stream_options).toEqual({ include_usage: true });
      expect(sent.messages).toEqual(messages);
    });

    it("ends the stream with a usage chunk with empty choices when the client asks for usage", async () => {
      const chunks: ChatCompletionChunk[] = [];
      const stream = await client.chat.completions.create({ model: "gpt-4o", messages, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) chunks.push(chunk);

      const last = chunks.at(-1);
      expect(last?.choices).toEqual([]);
      expect(last?.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 });
      expect(chunks.slice(0, -1).every((c) => c.choices.length === 1 && c.usage == null)).toBe(true);
      expect(chunks.slice(0, -1).map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello there!");
      expect(fake.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });
    });
  });

  describe("tool calls", () => {
    const call = { id: "call_weather_1", name: "get_weather", arguments: '{"city":"Paris"}' };

    it("returns a non-streamed tool call as the upstream made it, having sent the tools and tool_choice unchanged", async () => {
      fake.reply((req) => ({ status: 200, json: toolCallCompletion(req.body.model, [call]) }));
      const toolChoice = { type: "function" as const, function: { name: "get_weather" } };
      const completion = await client.chat.completions.create({ model: "gpt-4o", messages, tools: [weatherTool], tool_choice: toolChoice });

      const choice = completion.choices[0];
      expect(choice?.finish_reason).toBe("tool_calls");
      expect(choice?.message.content).toBeNull();
      expect(choice?.message.tool_calls).toEqual([{ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }]);
      const sent = fake.requests.at(-1)?.body;
      expect(sent.tools).toEqual([weatherTool]);
      expect(sent.tool_choice).toEqual(toolChoice);
    });

    it("streams a tool call whose arguments arrive in fragments, which the SDK assembles", async () => {
      fake.reply((req) => ({ sse: toolCallStream(req.body.model, [call]) }));
      const stream = client.chat.completions.stream({ model: "gpt-4o", messages, tools: [weatherTool] });
      const final = await stream.finalChatCompletion();

      expect(final.choices[0]?.finish_reason).toBe("tool_calls");
      expect(final.choices[0]?.message.tool_calls).toEqual([{ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }]);
      expect(fake.requests.at(-1)?.body.tools).toEqual([weatherTool]);
    });

    it("streams the recorded parallel tool calls of two functions, each with its own id, name and arguments, and their usage", async () => {
      const recording = fixtureBody("openai-stream-parallel-tool-calls.txt");
      fake.reply(() => ({ sse: [recording] }));
      const chunks: ChatCompletionChunk[] = [];
      const stream = await client.chat.completions.create({
        model: "gpt-4o",
        messages: [
          { role: "user", content: "What's the weather like in Edinburgh?" },
          { role: "user", content: "What's the price of AAPL?" },
        ],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) chunks.push(chunk);

      const calls = new Map<number, { id: string; name: string; arguments: string }>();
      for (const chunk of chunks) {
        for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
          const current = calls.get(tc.index) ?? { id: "", name: "", arguments: "" };
          calls.set(tc.index, {
            id: current.id + (tc.id ?? ""),
            name: current.name + (tc.function?.name ?? ""),
            arguments: current.arguments + (tc.function?.arguments ?? ""),
          });
        }
      }
      expect([...calls.keys()]).toEqual([0, 1]);
      expect(calls.get(0)).toMatchObject({ id: "call_JMW1whyEaYG438VE1OIflxA2", name: "GetWeatherArgs" });
      expect(JSON.parse(calls.get(0)?.arguments ?? "")).toEqual({ city: "Edinburgh", country: "GB", units: "c" });
      expect(calls.get(1)).toMatchObject({ id: "call_DNYTawLBoN8fj3KN6qU9N1Ou", name: "get_stock_price" });
      expect(JSON.parse(calls.get(1)?.arguments ?? "")).toEqual({ ticker: "AAPL", exchange: "NASDAQ" });
      expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("tool_calls");
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 149, completion_tokens: 60, total_tokens: 209 } });
      expect(chunks[0]?.model).toBe("gpt-4o-2024-08-06");
    });
  });

  describe("errors", () => {
    it("answers an unknown model with a 404 NotFoundError whose code is model_not_found, without calling the upstream", async () => {
      const before = fake.requests.length;
      const err = await client.chat.completions.create({ model: "no-such-model", messages }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err).toMatchObject({ status: 404, code: "model_not_found", param: "model", type: "invalid_request_error" });
      expect((err as Error).message).toMatch(/\/v1\/models/);
      expect(fake.requests.length).toBe(before);
    });

    it("rejects a body without messages with a 400 that names the field, without calling the upstream", async () => {
      const before = fake.requests.length;
      const invalid = { model: "gpt-4o" } as unknown as ChatCompletionCreateParamsNonStreaming;
      const err = await client.chat.completions.create(invalid).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err).toMatchObject({ status: 400, param: "messages", type: "invalid_request_error" });
      expect(fake.requests.length).toBe(before);
    });

    it("passes an upstream 429 on as a RateLimitError that keeps the upstream's Retry-After", async () => {
      fake.reply(() => ({
        status: 429,
        headers: { "retry-after": "7" },
        json: { error: { message: "Rate limit reached for gpt-4o", type: "requests", param: null, code: "rate_limit_exceeded" } },
      }));
      const err = await client.chat.completions.create({ model: "gpt-4o", messages }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err).toMatchObject({ status: 429, code: "rate_limit_exceeded", type: "rate_limit_error" });
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("7");
    });

    it("passes an upstream 429 on a stream request as a RateLimitError before any chunk", async () => {
      fake.reply(() => ({
        status: 429,
        headers: { "retry-after": "3" },
        json: { error: { message: "Rate limit reached for gpt-4o", type: "requests", param: null, code: "rate_limit_exceeded" } },
      }));
      const err = await client.chat.completions.create({ model: "gpt-4o", messages, stream: true }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("3");
    });

    it("reports an upstream 500 as a server error", async () => {
      fake.reply(() => ({ status: 500, json: { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } } }));
      const err = await client.chat.completions.create({ model: "gpt-4o", messages }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBeGreaterThanOrEqual(500);
      expect(err).toMatchObject({ type: "server_error" });
    });

    it("makes the SDK's iteration throw when the upstream stream breaks after it started, instead of ending as if complete", async () => {
      fake.reply((req) => ({ sse: textStream(req.body.model, ["Hello", " there", "!"]).slice(0, 2), cut: true }));
      const received: string[] = [];
      const consume = async () => {
        for await (const chunk of await client.chat.completions.create({ model: "gpt-4o", messages, stream: true })) {
          received.push(chunk.choices[0]?.delta.content ?? "");
        }
      };

      await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
      expect(received.join("")).toBe("Hello");
    });

    it("ends a broken stream on the wire with an error event and no [DONE]", async () => {
      fake.reply((req) => ({ sse: textStream(req.body.model, ["Hello", " there", "!"]).slice(0, 2), cut: true }));
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o", messages, stream: true }),
      });
      const text = await res.text();

      expect(res.status).toBe(200);
      const events = text.split("\n\n").filter((e) => e.startsWith("data: "));
      expect(events.at(-1)).toMatch(/^data: \{"error":\{/);
      expect(JSON.parse(events.at(-1)?.slice(6) ?? "")).toMatchObject({ error: { type: "server_error" } });
      expect(text).not.toContain("[DONE]");
    });

    it("closes the upstream connection promptly when the client aborts mid-stream", async () => {
      fake.reply((req) => ({ sse: textStream(req.body.model, ["Hello"]).slice(0, 2), hang: true }));
      const closedBefore = fake.closedStreams;
      const controller = new AbortController();
      const stream = await client.chat.completions.create({ model: "gpt-4o", messages, stream: true }, { signal: controller.signal });
      const consume = (async () => {
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content === "Hello") controller.abort();
        }
      })();

      await consume.catch(() => undefined);
      expect(controller.signal.aborted).toBe(true);
      await eventually(() => fake.closedStreams > closedBefore, 2000);
    });
  });
});
