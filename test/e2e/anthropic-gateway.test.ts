import * as http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { anthropicError, anthropicMessage, frames, startFakeAnthropic, streamEvents, streamReply, type AnthropicReceived, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const UPSTREAM_KEY = "sk-ant-upstream-secret-0123456789";
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082", "hex");
const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

/** A chat request body as the openai SDK types it, plus fields it does not know. */
type Body = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming & Record<string, unknown>;

function lastRequest(fake: FakeAnthropic): AnthropicReceived {
  const r = fake.requests.at(-1);
  if (!r) throw new Error("the fake received nothing");
  return r;
}

async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of stream) out.push(x);
  return out;
}

describe("Anthropic through the gateway, with the openai SDK", () => {
  let fake: FakeAnthropic;
  let gateway: Gateway;
  let client: OpenAI;
  let images: http.Server;
  let imagesUrl: string;

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    images = http.createServer((req, res) => {
      res.writeHead(req.url === "/cat.png" ? 200 : 404, { "content-type": req.url === "/cat.png" ? "image/png" : "text/plain" });
      res.end(req.url === "/cat.png" ? PNG : "no");
    });
    await new Promise<void>((r) => images.listen(0, "127.0.0.1", r));
    imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    gateway = await startTestGateway({
      ANTHROPIC_API_KEY: UPSTREAM_KEY,
      ANTHROPIC_BASE_URL: fake.url,
      GATEWAY_DEFAULT_MAX_TOKENS: "1234",
      GATEWAY_IMAGE_FETCH_ALLOW_PRIVATE: "true",
    });
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
    await new Promise((r) => images?.close(r));
  });
  beforeEach(() => {
    fake.reply((req) => {
      const message = anthropicMessage(req.body.model, [{ type: "text", text: "Hello there!" }], "end_turn", { input_tokens: 12, cache_read_input_tokens: 4, output_tokens: 6 });
      return req.body.stream ? streamReply(message) : { status: 200, json: message };
    });
  });

  it("routes claude-3 to the Anthropic provider and answers a unary request, sending the right headers, system and default max_tokens", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "claude-3", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }] })
      .withResponse();
    expect(response.headers.get("x-gateway-provider")).toBe("anthropic");
    expect(data.choices[0]?.message.content).toBe("Hello there!");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 16, completion_tokens: 6, total_tokens: 22, prompt_tokens_details: { cached_tokens: 4 } });
    const sent = lastRequest(fake);
    expect(sent.url).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe(UPSTREAM_KEY);
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({ model: "claude-3", max_tokens: 1234, system: "Be brief.", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] });
  });

  it("streams text with a usage chunk after the finish chunk", async () => {
    const chunks = await drain(await client.chat.completions.create({ model: "claude-3-haiku", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } }));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello there!");
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const finishAt = chunks.findIndex((c) => c.choices[0]?.finish_reason === "stop");
    expect(finishAt).toBe(chunks.length - 2);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 16, completion_tokens: 6, total_tokens: 22 } });
    expect(lastRequest(fake).body.stream).toBe(true);
  });

  it("streams parallel tool calls with OpenAI indexes 0 and 1, id and name on each first fragment", async () => {
    fake.reply((req) =>
      streamReply(
        anthropicMessage(req.body.model, [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_01Paris", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_01Tokyo", name: "get_weather", input: { city: "Tokyo" } },
        ], "tool_use"),
      ),
    );
    const chunks = await drain(await client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "weather?" }], tools: [weatherTool], stream: true }));
    const calls = new Map<number, { id?: string; name?: string; args: string }>();
    for (const t of chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])) {
      const c = calls.get(t.index);
      if (!c) {
        expect(t).toMatchObject({ id: expect.stringMatching(/^toolu_/), type: "function", function: { name: "get_weather", arguments: "" } });
        calls.set(t.index, { id: t.id, name: t.function?.name, args: "" });
      } else c.args += t.function?.arguments ?? "";
    }
    expect([...calls.entries()]).toEqual([
      [0, { id: "toolu_01Paris", name: "get_weather", args: '{"city":"Paris"}' }],
      [1, { id: "toolu_01Tokyo", name: "get_weather", args: '{"city":"Tokyo"}' }],
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(lastRequest(fake).body.tools).toEqual([{ name: "get_weather", description: "Weather of a city", input_schema: weatherTool.function.parameters }]);
  });

  it("sends a tool round trip back as one assistant turn and one user turn holding every tool result, with the ids kept", async () => {
    await client.chat.completions.create({
      model: "claude-3-5-sonnet",
      tools: [weatherTool],
      tool_choice: "required",
      parallel_tool_calls: false,
      messages: [
        { role: "user", content: "weather in Paris and Tokyo?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "toolu_01Paris", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "toolu_01Tokyo", type: "function", function: { name: "get_weather", arguments: '{"city":"Tokyo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_01Paris", content: "sunny" },
        { role: "tool", tool_call_id: "toolu_01Tokyo", content: "rainy" },
        { role: "user", content: "Which is warmer?" },
      ],
    });
    const sent = lastRequest(fake).body;
    expect(sent.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(sent.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "weather in Paris and Tokyo?" }] },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "toolu_01Paris", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_01Tokyo", name: "get_weather", input: { city: "Tokyo" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01Paris", content: "sunny" },
          { type: "tool_result", tool_use_id: "toolu_01Tokyo", content: "rainy" },
          { type: "text", text: "Which is warmer?" },
        ],
      },
    ]);
  });

  it("sends a data: image inline, an https image as a URL source and an http image fetched and inlined", async () => {
    const data = `data:image/png;base64,${PNG.toString("base64")}`;
    await client.chat.completions.create({
      model: "claude-3-5-sonnet",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare these." },
            { type: "image_url", image_url: { url: data } },
            { type: "image_url", image_url: { url: "https://images.example/dog.jpg" } },
            { type: "image_url", image_url: { url: `${imagesUrl}/cat.png` } },
          ],
        },
      ],
    });
    expect(lastRequest(fake).body.messages[0].content.slice(1)).toEqual([
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG.toString("base64") } },
      { type: "image", source: { type: "url", url: "https://images.example/dog.jpg" } },
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG.toString("base64") } },
    ]);
  });

  it("answers 400 naming the part for an image Anthropic cannot take, or cannot be fetched", async () => {
    const before = fake.requests.length;
    const bmp = client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/bmp;base64,Qk0=" } }] }] });
    await expect(bmp).rejects.toMatchObject({ status: 400, param: "messages[0].content[0].image_url.url" });
    const missing = client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `${imagesUrl}/missing.png` } }] }] });
    await expect(missing).rejects.toMatchObject({ status: 400, param: "messages[0].content[0].image_url.url" });
    expect(fake.requests.length).toBe(before);
  });

  it("asks for native structured output for response_format json_schema", async () => {
    const schema = { type: "object", properties: { answer: { type: "integer" } }, required: ["answer"], additionalProperties: false };
    fake.reply((req) => ({ status: 200, json: anthropicMessage(req.body.model, [{ type: "text", text: '{"answer":42}' }]) }));
    const res = await client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "6*7?" }], response_format: { type: "json_schema", json_schema: { name: "answer", schema, strict: true } } });
    expect(JSON.parse(res.choices[0]?.message.content ?? "")).toEqual({ answer: 42 });
    expect(lastRequest(fake).body.output_config).toEqual({ format: { type: "json_schema", schema } });
  });

  it("returns thinking as reasoning_content with a signature, and sends it back as a thinking block", async () => {
    fake.reply((req) => ({
      status: 200,
      json: anthropicMessage(req.body.model, [{ type: "thinking", thinking: "Let me think.", signature: "SIG_1==" }, { type: "text", text: "42" }]),
    }));
    const res = await client.chat.completions.create({ model: "claude-3-7-sonnet", messages: [{ role: "user", content: "answer?" }], reasoning_effort: "low" } as Body);
    expect(lastRequest(fake).body).toMatchObject({ thinking: { type: "enabled", budget_tokens: 1024 }, max_tokens: 1234 + 1024 });
    const message = res.choices[0]?.message as unknown as Record<string, unknown>;
    expect(message).toMatchObject({ content: "42", reasoning_content: "Let me think.", reasoning_signature: "SIG_1==" });
    await client.chat.completions.create({ model: "claude-3-7-sonnet", messages: [{ role: "user", content: "answer?" }, message as never, { role: "user", content: "why?" }] });
    expect(lastRequest(fake).body.messages[1].content).toEqual([
      { type: "thinking", thinking: "Let me think.", signature: "SIG_1==" },
      { type: "text", text: "42" },
    ]);
  });

  it("streams thinking as reasoning_content deltas and one reasoning_signature before the finish", async () => {
    fake.reply((req) => streamReply(anthropicMessage(req.body.model, [{ type: "thinking", thinking: "Step one, step two.", signature: "SIG_2==" }, { type: "text", text: "Done" }])));
    const chunks = await drain(await client.chat.completions.create({ model: "claude-3-7-sonnet", messages: [{ role: "user", content: "go" }], stream: true }));
    const deltas = chunks.map((c) => (c.choices[0]?.delta ?? {}) as Record<string, unknown>);
    expect(deltas.map((d) => d.reasoning_content ?? "").join("")).toBe("Step one, step two.");
    expect(deltas.filter((d) => d.reasoning_signature !== undefined).map((d) => d.reasoning_signature)).toEqual(["SIG_2=="]);
  });

  it("answers 400 naming an unsupported parameter, and drops it on request with a header saying so", async () => {
    const before = fake.requests.length;
    await expect(client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }], logprobs: true })).rejects.toMatchObject({ status: 400, param: "logprobs" });
    await expect(client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }], temperature: 1.7 })).rejects.toMatchObject({ status: 400, param: "temperature" });
    expect(fake.requests.length).toBe(before);
    const { data, response } = await client.chat.completions
      .create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }], logprobs: true, seed: 3, drop_params: true } as Body)
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Hello there!");
    expect(response.headers.get("x-gateway-dropped-params")).toBe("logprobs,seed");
    expect(lastRequest(fake).body).not.toHaveProperty("seed");
  });

  it("passes an upstream 400 on with its message", async () => {
    fake.reply(() => anthropicError(400, "invalid_request_error", "messages: text content blocks must be non-empty"));
    await expect(client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({
      status: 400,
      type: "invalid_request_error",
      message: expect.stringContaining("text content blocks must be non-empty"),
    });
  });

  it("reports the upstream rejecting the gateway's key as a 502 that does not leak the upstream message", async () => {
    fake.reply(() => anthropicError(401, "authentication_error", `invalid x-api-key ${UPSTREAM_KEY}`));
    const err = await client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502 });
    expect(String((err as Error).message)).not.toContain(UPSTREAM_KEY);
    expect(String((err as Error).message)).not.toContain("x-api-key");
  });

  it("keeps Retry-After on an upstream 429", async () => {
    fake.reply(() => anthropicError(429, "rate_limit_error", "This request would exceed your rate limit", { "retry-after": "7" }));
    const err = (await client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(429);
    expect(err.headers?.get("retry-after")).toBe("7");
  });

  it("reports Anthropic's 529 overloaded as 503, unary and before a stream starts", async () => {
    fake.reply(() => anthropicError(529, "overloaded_error", "Overloaded"));
    await expect(client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 503 });
    await expect(client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }], stream: true })).rejects.toMatchObject({ status: 503 });
  });

  it("turns an in-band error event into an error that the client's stream iteration throws", async () => {
    fake.reply((req) => {
      const events = streamEvents(anthropicMessage(req.body.model, [{ type: "text", text: "Partial answer" }]));
      return { sse: [...frames(events.slice(0, 4)), `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })}\n\n`] };
    });
    const stream = await client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }], stream: true });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? "");
      })(),
    ).rejects.toThrow(/Overloaded/);
    expect(seen.join("")).toBe("Partial an");
  });

  it("makes the client's stream fail, after the text so far, when the upstream connection breaks or ends without message_stop", async () => {
    for (const cut of [{ destroy: true }, {}]) {
      fake.reply((req) => ({ sse: frames(streamEvents(anthropicMessage(req.body.model, [{ type: "text", text: "Partial answer" }])).slice(0, 5)), delayMs: 5, ...cut }));
      const stream = await client.chat.completions.create({ model: "claude-3-5-sonnet", messages: [{ role: "user", content: "hi" }], stream: true });
      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? "");
        })(),
      ).rejects.toThrow(/upstream/);
      expect(seen.join("")).toBe("Partial answer");
    }
  });
});
