import type { AIMessageChunk, BaseMessage } from "@langchain/core/messages";
import { HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { anthropicError, anthropicMessage, frames, startFakeAnthropic, streamEvents, streamReply, type AnthropicReceived, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

/** Answers like Claude in a tool loop: two parallel calls first, a final answer once the results are in. */
function toolLoop(req: AnthropicReceived) {
  const last = req.body.messages.at(-1);
  const answered = Array.isArray(last?.content) && last.content.some((b: { type: string }) => b.type === "tool_result");
  const message = answered
    ? anthropicMessage(req.body.model, [{ type: "text", text: "Paris is sunny, Tokyo is rainy." }])
    : anthropicMessage(req.body.model, [
        { type: "text", text: "Let me check both." },
        { type: "tool_use", id: "toolu_01Paris", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_01Tokyo", name: "get_weather", input: { city: "Tokyo" } },
      ], "tool_use");
  return req.body.stream ? streamReply(message) : { status: 200, json: message };
}

describe("Anthropic through the gateway, with LangChain's ChatOpenAI", () => {
  let fake: FakeAnthropic;
  let gateway: Gateway;
  const model = (fields: Record<string, unknown> = {}) =>
    new ChatOpenAI({ model: "claude-3-5-sonnet", apiKey: ADMIN_KEY, maxRetries: 0, configuration: { baseURL: `${gateway.url}/v1/langchain` }, ...fields });

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    gateway = await startTestGateway({ ANTHROPIC_API_KEY: "sk-ant-upstream-secret-0123456789", ANTHROPIC_BASE_URL: fake.url });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reply((req) => {
      const message = anthropicMessage(req.body.model, [{ type: "text", text: "Hello there!" }], "end_turn", { input_tokens: 10, output_tokens: 3 });
      return req.body.stream ? streamReply(message) : { status: 200, json: message };
    });
  });

  it("answers invoke and stream, with usage, and sends the system prompt top-level", async () => {
    const answer = await model().invoke([new SystemMessage("Be brief."), new HumanMessage("hi")]);
    expect(answer.content).toBe("Hello there!");
    expect(answer.usage_metadata).toMatchObject({ input_tokens: 10, output_tokens: 3, total_tokens: 13 });
    expect(fake.requests.at(-1)?.body).toMatchObject({ system: "Be brief.", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] });

    let streamed: AIMessageChunk | undefined;
    for await (const chunk of await model({ streamUsage: true }).stream([new HumanMessage("hi")])) streamed = streamed ? streamed.concat(chunk) : chunk;
    expect(streamed?.content).toBe("Hello there!");
    expect(streamed?.usage_metadata).toMatchObject({ input_tokens: 10, output_tokens: 3 });
  });

  it.each([false, true])("runs a tool loop with parallel calls (streamed: %s): bindTools, calls, tool results, final answer", async (streamed) => {
    fake.reply(toolLoop);
    const chat = model().bindTools([weatherTool]);
    // Streamed turns are assembled from chunks (ChatOpenAI's own `streaming: true` invoke estimates tokens with an encoder it downloads).
    const call = async (messages: BaseMessage[]): Promise<AIMessageChunk> => {
      if (!streamed) return chat.invoke(messages);
      let acc: AIMessageChunk | undefined;
      for await (const chunk of await chat.stream(messages)) acc = acc ? acc.concat(chunk) : chunk;
      if (!acc) throw new Error("empty stream");
      return acc;
    };
    const messages: BaseMessage[] = [new SystemMessage("You report the weather."), new HumanMessage("Weather in Paris and Tokyo?")];
    const ai = await call(messages);
    expect(ai.tool_calls).toEqual([
      expect.objectContaining({ id: "toolu_01Paris", name: "get_weather", args: { city: "Paris" } }),
      expect.objectContaining({ id: "toolu_01Tokyo", name: "get_weather", args: { city: "Tokyo" } }),
    ]);
    messages.push(ai);
    for (const call of ai.tool_calls ?? []) {
      messages.push(new ToolMessage({ tool_call_id: call.id as string, content: call.args.city === "Paris" ? "sunny" : "rainy" }));
    }
    const final = await call(messages);
    expect(final.content).toBe("Paris is sunny, Tokyo is rainy.");
    expect(fake.requests.at(-1)?.body.stream).toBe(streamed ? true : undefined);

    const sent = fake.requests.at(-1)?.body;
    expect(sent.system).toBe("You report the weather.");
    expect(sent.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Tokyo?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me check both." },
          { type: "tool_use", id: "toolu_01Paris", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_01Tokyo", name: "get_weather", input: { city: "Tokyo" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01Paris", content: "sunny" },
          { type: "tool_result", tool_use_id: "toolu_01Tokyo", content: "rainy" },
        ],
      },
    ]);
  });

  it("gets structured output through withStructuredOutput, as native structured output upstream", async () => {
    fake.reply((req) => ({ status: 200, json: anthropicMessage(req.body.model, [{ type: "text", text: '{"city":"Paris","celsius":21}' }]) }));
    const schema = { title: "weather", type: "object", properties: { city: { type: "string" }, celsius: { type: "number" } }, required: ["city", "celsius"], additionalProperties: false };
    const result = await model().withStructuredOutput(schema).invoke("Weather in Paris as JSON");
    expect(result).toEqual({ city: "Paris", celsius: 21 });
    expect(fake.requests.at(-1)?.body.output_config).toEqual({ format: { type: "json_schema", schema: expect.objectContaining({ required: ["city", "celsius"] }) } });
  });

  it("sends an image given as a data: URL", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII=";
    await model().invoke([new HumanMessage({ content: [{ type: "text", text: "What is it?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }] })]);
    expect(fake.requests.at(-1)?.body.messages[0].content[1]).toEqual({ type: "image", source: { type: "base64", media_type: "image/png", data: png } });
  });

  it("surfaces upstream errors: 529 as a 503 on invoke, an in-band error after the first text as a failed stream", async () => {
    fake.reply(() => anthropicError(529, "overloaded_error", "Overloaded"));
    await expect(model().invoke("hi")).rejects.toMatchObject({ status: 503 });
    fake.reply((req) => {
      const events = streamEvents(anthropicMessage(req.body.model, [{ type: "text", text: "Partial answer" }]));
      return { sse: [...frames(events.slice(0, 3)), `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message: "Internal server error" } })}\n\n`], delayMs: 5 };
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of await model().stream("hi")) seen.push(String(chunk.content));
      })(),
    ).rejects.toThrow(/Internal server error/);
    expect(seen.join("")).toBe("Parti");
  });
});
