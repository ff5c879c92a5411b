import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anthropicError, anthropicMessage, frames, startFakeAnthropic, streamReply, type FakeAnthropic } from "../support/fake-anthropic.ts";

/**
 * The fake Anthropic API is what the adapter's end-to-end tests run against;
 * driving it with the official SDK keeps it honest to the real protocol.
 */
describe("the fake Anthropic API, driven by @anthropic-ai/sdk", () => {
  let fake: FakeAnthropic;
  let client: Anthropic;

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    client = new Anthropic({ apiKey: "sk-ant-test", baseURL: fake.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it("answers a unary request the SDK parses, and sees the SDK's headers", async () => {
    const message = await client.messages.create({ model: "claude-sonnet-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
    expect(message.content).toEqual([{ type: "text", text: "Hello there!" }]);
    expect(message.stop_reason).toBe("end_turn");
    const received = fake.requests.at(-1);
    expect(received?.url).toBe("/v1/messages");
    // This SDK version sends its key as a bearer token and a newer API version; the fake accepts those and x-api-key.
    expect(received?.headers.authorization).toBe("Bearer sk-ant-test");
    expect(received?.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("streams thinking, text and a tool call that the SDK reassembles into the same message", async () => {
    const whole = anthropicMessage(
      "claude-sonnet-5",
      [
        { type: "thinking", thinking: "Need the weather tool.", signature: "SIG==" },
        { type: "text", text: "Let me look." },
        { type: "tool_use", id: "toolu_01X", name: "get_weather", input: { city: "Paris", days: [1, 2] } },
      ],
      "tool_use",
      { input_tokens: 30, output_tokens: 40 },
    );
    fake.reply(() => streamReply(whole));
    const stream = client.messages.stream({
      model: "claude-sonnet-5",
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [{ role: "user", content: "weather?" }],
    });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe("Let me look.");
    expect(final.content).toEqual(whole.content);
    expect(final.stop_reason).toBe("tool_use");
    expect(final.usage.output_tokens).toBe(40);
  });

  it("takes a tool_result answering the previous tool_use, and rejects one that answers nothing as the real API does", async () => {
    fake.reply((req) => ({ status: 200, json: anthropicMessage(req.body.model, [{ type: "text", text: "It is sunny." }]) }));
    const history = [
      { role: "user" as const, content: "weather?" },
      { role: "assistant" as const, content: [{ type: "tool_use" as const, id: "toolu_01X", name: "get_weather", input: {} }] },
    ];
    const ok = await client.messages.create({
      model: "claude-sonnet-5",
      max_tokens: 64,
      messages: [...history, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01X", content: "sunny" }] }],
    });
    expect(ok.content).toEqual([{ type: "text", text: "It is sunny." }]);
    const bad = client.messages.create({
      model: "claude-sonnet-5",
      max_tokens: 64,
      messages: [...history, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_other", content: "sunny" }] }],
    });
    await expect(bad).rejects.toMatchObject({ status: 400, error: { error: { type: "invalid_request_error" } } });
  });

  it("sends errors the SDK classifies: 529 overloaded, 429 with retry-after", async () => {
    fake.reply(() => anthropicError(529, "overloaded_error", "Overloaded"));
    await expect(client.messages.create({ model: "claude-sonnet-5", max_tokens: 8, messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 529 });
    fake.reply(() => anthropicError(429, "rate_limit_error", "slow down", { "retry-after": "7" }));
    const err = await client.messages.create({ model: "claude-sonnet-5", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).headers.get("retry-after")).toBe("7");
  });

  it("sends an in-band error event that makes the SDK's stream iteration throw", async () => {
    fake.reply((req) => ({
      sse: [
        ...frames([
          { type: "message_start", message: { ...anthropicMessage(req.body.model, []), stop_reason: null } },
          { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
          { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Part" } },
        ]),
        `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })}\n\n`,
      ],
    }));
    const stream = await client.messages.create({ model: "claude-sonnet-5", max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of stream) seen.push(event.type);
      })(),
    ).rejects.toThrow(/Overloaded/);
    expect(seen).toEqual(["message_start", "content_block_start", "content_block_delta"]);
  });

  it("refuses a request without the version header, as the real API does", async () => {
    const res = await fetch(`${fake.url}/v1/messages`, { method: "POST", headers: { "x-api-key": "k", "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });
});
