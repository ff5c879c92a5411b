import { ApiError, FunctionCallingConfigMode, GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ChatMessage } from "../../src/chat/chat-types.ts";
import { buildGeminiRequestBody } from "../../src/providers/gemini/gemini-request.ts";
import { createGeminiToolCallId } from "../../src/providers/gemini/gemini-tool-call-id.ts";
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
} from "../support/fake-gemini.ts";

/**
 * The fake Gemini API is what the adapter's end-to-end tests run against;
 * driving it with the official SDK keeps it honest to the real protocol.
 */
describe("the fake Gemini API, driven by @google/genai", () => {
  let fake: FakeGemini;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    fake = await startFakeGemini();
    ai = new GoogleGenAI({ apiKey: "gk-sdk-test", httpOptions: { baseUrl: fake.url, apiVersion: "v1beta" } });
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    fake.reply((req) => (req.stream ? { sse: sseFrames(textChunks(["Hello", " there", "!"])) } : { status: 200, json: textResponse("Hello there!") }));
  });

  it("answers a unary generateContent the SDK parses, on the path and with the key header the SDK uses", async () => {
    const res = await ai.models.generateContent({ model: "gemini-2.0-flash", contents: "hi", config: { systemInstruction: "Be brief.", maxOutputTokens: 20 } });
    expect(res.text).toBe("Hello there!");
    expect(res.candidates?.[0]?.finishReason).toBe("STOP");
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 9, candidatesTokenCount: 3, totalTokenCount: 12 });
    const received = fake.requests.at(-1);
    expect(received?.url).toBe("/v1beta/models/gemini-2.0-flash:generateContent");
    expect(received?.headers["x-goog-api-key"]).toBe("gk-sdk-test");
    expect(received?.body).toMatchObject({
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      systemInstruction: { parts: [{ text: "Be brief." }] },
      generationConfig: { maxOutputTokens: 20 },
    });
  });

  it("streams CRLF-framed SSE chunks that the SDK reads in order, from ?alt=sse", async () => {
    let text = "";
    let last;
    for await (const chunk of await ai.models.generateContentStream({ model: "gemini-2.0-flash", contents: "hi" })) {
      text += chunk.text ?? "";
      last = chunk;
    }
    expect(text).toBe("Hello there!");
    expect(last?.candidates?.[0]?.finishReason).toBe("STOP");
    expect(fake.requests.at(-1)?.url).toBe("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  });

  it("replays a recorded stream, with its function call and thought signature, to the SDK", async () => {
    fake.reply(() => ({ sse: [fixtureResponse("gemini-stream-function-call-thought-signature.txt", 1)] }));
    const calls = [];
    for await (const chunk of await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "divide" })) calls.push(...(chunk.functionCalls ?? []));
    expect(calls).toEqual([{ name: "customDivide", args: { denominator: 2, numerator: 10 } }]);
  });

  it("returns function calls the SDK exposes, and receives a tool history in the very shape the gateway's mapper produces", async () => {
    fake.reply(() => ({
      status: 200,
      json: functionCallResponse([
        { name: "get_weather", args: { city: "Paris" }, thoughtSignature: "U0lHLTE=" },
        { name: "get_weather", args: { city: "Rome" } },
      ]),
    }));
    const tools = [{ functionDeclarations: [{ name: "get_weather", parametersJsonSchema: { type: "object", properties: { city: { type: "string" } } } }] }];
    const first = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "Weather in Paris and Rome?",
      config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ["get_weather"] } } },
    });
    expect(first.functionCalls).toEqual([
      { name: "get_weather", args: { city: "Paris" } },
      { name: "get_weather", args: { city: "Rome" } },
    ]);
    expect(fake.requests.at(-1)?.body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });

    fake.reply(() => ({ status: 200, json: textResponse("Paris 18°C, Rome 21°C.", "gemini-2.5-flash", usageMetadata(40, 8)) }));
    const modelTurn = first.candidates?.[0]?.content;
    const second = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: [
        { role: "user", parts: [{ text: "Weather in Paris and Rome?" }] },
        modelTurn ?? {},
        {
          role: "user",
          parts: [
            { functionResponse: { name: "get_weather", response: { output: "18°C" } } },
            { functionResponse: { name: "get_weather", response: { output: "21°C" } } },
          ],
        },
      ],
      config: { tools },
    });
    expect(second.text).toBe("Paris 18°C, Rome 21°C.");
    const sdkSent = fake.requests.at(-1)?.body;

    // The same conversation as an OpenAI client sends it back to the gateway.
    const a = createGeminiToolCallId("U0lHLTE=");
    const b = createGeminiToolCallId();
    const messages: ChatMessage[] = [
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: a, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: b, type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: a, content: "18°C" },
      { role: "tool", tool_call_id: b, content: "21°C" },
    ];
    const gatewaySends = buildGeminiRequestBody({ model: "gemini-2.5-flash", messages, stream: false, extra: {} }, "gemini-2.5-flash");
    expect(gatewaySends.contents).toEqual(sdkSent.contents);
  });

  it("answers errors in Google's envelope, which the SDK raises as ApiError with the status", async () => {
    fake.reply(() => ({ status: 429, json: geminiError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."), headers: { "retry-after": "3" } }));
    const err = await ai.models.generateContent({ model: "gemini-2.0-flash", contents: "hi" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect((err as ApiError).message).toMatch(/RESOURCE_EXHAUSTED|Resource has been exhausted/);
  });

  it("sends a mid-stream bare error object, in its own network read, that the SDK raises while iterating", async () => {
    const wire = fixtureResponse("gemini-stream-mid-stream-error.txt").trimEnd();
    const at = wire.indexOf('{"error"');
    fake.reply(() => ({ sse: [wire.slice(0, at), wire.slice(at)], delayMs: 30 }));
    let text = "";
    const iterate = async () => {
      for await (const chunk of await ai.models.generateContentStream({ model: "gemini-2.0-flash", contents: "hi" })) text += chunk.text ?? "";
    };
    await expect(iterate()).rejects.toThrow(/overloaded/);
    expect(text).toBe("The sky");
  });
});
