import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  fixtureResponse,
  functionCallResponse,
  geminiError,
  sseFrames,
  startFakeGemini,
  textChunks,
  textResponse,
  usageMetadata,
  type FakeGemini,
  type GeminiReceived,
} from "../support/fake-gemini.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

const UPSTREAM_KEY = "gk-upstream-langchain-0123456789";
const SIGNATURE = "CiQBVKhc7gVNlWrmzW9MEk/bjBDPDpxUEY9TBFuB8vn6CVjiCFgKeAFUqFzu+w==";

/** Whether the conversation Gemini received already holds a function response. */
function hasFunctionResponse(req: GeminiReceived): boolean {
  return (req.body.contents as { parts: Record<string, unknown>[] }[]).some((c) => c.parts.some((p) => "functionResponse" in p));
}

const getWeather = tool(async ({ city }: { city: string }) => `It is 18°C and sunny in ${city}.`, {
  name: "get_weather",
  description: "Current weather in a city",
  schema: z.object({ city: z.string().describe("City name") }),
});

/** Runs the calls an answer asks for and returns the tool messages. */
async function runTools(answer: AIMessage): Promise<ToolMessage[]> {
  return Promise.all((answer.tool_calls ?? []).map((call) => getWeather.invoke(call)));
}

describe("Gemini through the gateway, with LangChain's ChatOpenAI", () => {
  let fake: FakeGemini;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let model: ChatOpenAI;

  beforeAll(async () => {
    fake = await startFakeGemini();
    gateway = await startTestGateway({ GOOGLE_API_KEY: UPSTREAM_KEY, GOOGLE_BASE_URL: fake.url });
    model = new ChatOpenAI({ model: "gemini-1.5-flash", apiKey: ADMIN_KEY, maxRetries: 0, configuration: { baseURL: `${gateway.url}/v1/langchain` } });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reply((req) => (req.stream ? { sse: sseFrames(textChunks(["Hello", " there", "!"])) } : { status: 200, json: textResponse("Hello there!") }));
  });

  it("invokes the model and gets Gemini's answer and token usage, Gemini having received the system instruction and its own key", async () => {
    const answer = await model.invoke([new SystemMessage("You answer briefly."), new HumanMessage("Say hello.")]);
    expect(answer.content).toBe("Hello there!");
    expect(answer.usage_metadata).toMatchObject({ input_tokens: 9, output_tokens: 3, total_tokens: 12 });
    const sent = fake.requests.at(-1);
    expect(sent?.url).toBe("/v1beta/models/gemini-1.5-flash:generateContent");
    expect(sent?.headers["x-goog-api-key"]).toBe(UPSTREAM_KEY);
    expect(sent?.body.systemInstruction).toEqual({ parts: [{ text: "You answer briefly." }] });
    expect(sent?.body.contents).toEqual([{ role: "user", parts: [{ text: "Say hello." }] }]);
  });

  it("streams the answer in chunks that add up to Gemini's text, with usage", async () => {
    fake.reply(() => ({ sse: [fixtureResponse("gemini-stream-max-tokens.txt")] }));
    const chunks: AIMessageChunk[] = [];
    for await (const chunk of await model.stream("Why is the sky blue?")) chunks.push(chunk);
    const whole = chunks.reduce((a, b) => a.concat(b));
    expect(whole.content).toBe("The sky is blue because of a phenomenon called **Rayleigh scattering**. Here's a breakdown:");
    expect(whole.response_metadata.finish_reason).toBe("length");
    expect(whole.usage_metadata).toMatchObject({ input_tokens: 6, output_tokens: 20, total_tokens: 26 });
    expect(fake.requests.at(-1)?.stream).toBe(true);
  });

  it("completes a tool-call round trip with bindTools, the thought signature returning to Gemini through the tool call id alone", async () => {
    fake.reply((req) =>
      hasFunctionResponse(req)
        ? { status: 200, json: textResponse("It is sunny in Paris, 18°C.", "gemini-2.5-flash") }
        : { status: 200, json: functionCallResponse([{ name: "get_weather", args: { city: "Paris" }, thoughtSignature: SIGNATURE }]) },
    );
    const withTools = model.bindTools([getWeather]);
    const history: BaseMessage[] = [new HumanMessage("What's the weather in Paris?")];
    const first = await withTools.invoke(history);
    expect(first.tool_calls).toEqual([expect.objectContaining({ name: "get_weather", args: { city: "Paris" }, id: expect.stringMatching(/^call_/) })]);
    expect(first.response_metadata.finish_reason).toBe("tool_calls");
    history.push(first, ...(await runTools(first)));
    const final = await withTools.invoke(history);
    expect(final.content).toBe("It is sunny in Paris, 18°C.");

    const sent = fake.requests.at(-1)?.body;
    expect(sent.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Current weather in a city",
            parametersJsonSchema: expect.objectContaining({ type: "object", properties: { city: { type: "string", description: "City name" } } }),
          },
        ],
      },
    ]);
    expect(sent.contents).toEqual([
      { role: "user", parts: [{ text: "What's the weather in Paris?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: SIGNATURE }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "It is 18°C and sunny in Paris." } } }] },
    ]);
  });

  it("streams parallel tool calls that LangChain reassembles, and answers after both results", async () => {
    fake.reply((req) =>
      hasFunctionResponse(req) ? { sse: sseFrames(textChunks(["Paris 18°C,", " Rome 18°C."], "gemini-2.5-flash")) } : { sse: [fixtureResponse("gemini-stream-parallel-calls.txt")] },
    );
    const withTools = model.bindTools([getWeather]);
    const history: BaseMessage[] = [new HumanMessage("Weather in Paris and in Rome?")];
    let first: AIMessageChunk | undefined;
    for await (const chunk of await withTools.stream(history)) first = first ? first.concat(chunk) : chunk;
    expect(first?.content).toBe("Let me look both up.");
    expect(first?.tool_calls?.map((c) => c.args)).toEqual([{ city: "Paris" }, { city: "Rome" }]);
    const ids = first?.tool_calls?.map((c) => c.id);
    expect(new Set(ids).size).toBe(2);
    history.push(new AIMessage({ content: first?.content ?? "", tool_calls: first?.tool_calls ?? [] }), ...(await runTools(first as AIMessage)));
    let text = "";
    for await (const chunk of await withTools.stream(history)) text += chunk.content;
    expect(text).toBe("Paris 18°C, Rome 18°C.");
    const contents = fake.requests.at(-1)?.body.contents;
    expect(contents).toHaveLength(3);
    expect(contents[1].parts.map((p: any) => p.functionCall?.args)).toEqual([undefined, { city: "Paris" }, { city: "Rome" }]);
    expect(contents[1].parts[1].thoughtSignature).toMatch(/^Ci0BVKhc7nIrgrUl8wn5/);
    expect(contents[2].parts.map((p: any) => p.functionResponse.name)).toEqual(["get_weather", "get_weather"]);
  });

  it("gets structured output with withStructuredOutput, Gemini being asked for JSON with the schema", async () => {
    fake.reply(() => ({ status: 200, json: textResponse('{"city":"Paris","temp_c":18}') }));
    const structured = model.withStructuredOutput(z.object({ city: z.string(), temp_c: z.number() }), { name: "weather" });
    expect(await structured.invoke("Weather in Paris as JSON.")).toEqual({ city: "Paris", temp_c: 18 });
    const config = fake.requests.at(-1)?.body.generationConfig;
    expect(config.responseMimeType).toBe("application/json");
    expect(config.responseJsonSchema).toMatchObject({ type: "object", properties: { city: { type: "string" }, temp_c: { type: "number" } } });
    expect(config.responseJsonSchema).not.toHaveProperty("$schema");
  });

  it("surfaces upstream errors as LangChain errors with the status, and a failed stream as a thrown iteration", async () => {
    fake.reply(() => ({ status: 429, json: geminiError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted."), headers: { "retry-after": "2" } }));
    await expect(model.invoke("hi")).rejects.toMatchObject({ status: 429 });
    fake.reply(() => ({ sse: sseFrames(textChunks(["The", " sky"]).slice(0, 1)), cut: true }));
    const iterate = async () => {
      for await (const _ of await model.stream("hi")) {
        // drain
      }
    };
    await expect(iterate()).rejects.toThrow();
    fake.reply(() => ({ status: 200, json: textResponse("ok", "gemini-2.0-flash", usageMetadata(1, 1)) }));
    expect((await model.invoke("hi")).content).toBe("ok");
  });
});
