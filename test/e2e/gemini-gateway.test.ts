import * as http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { thoughtSignatureOfToolCallId } from "../../src/providers/gemini/gemini-tool-call-id.ts";
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
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

const UPSTREAM_KEY = "gk-upstream-gemini-0123456789";
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001", "hex");
const GIF = Buffer.from("474946383961010001000000002c", "hex");

describe("Gemini through the gateway, with the openai SDK", () => {
  let fake: FakeGemini;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let client: OpenAI;
  let images: http.Server;
  let imagesUrl: string;
  let imageRequests = 0;

  beforeAll(async () => {
    fake = await startFakeGemini();
    // Answers only once both images were asked for: the adapter must fetch them in parallel.
    const waiting: (() => void)[] = [];
    images = http.createServer((req, res) => {
      imageRequests++;
      const send = () => {
        const gif = req.url?.endsWith(".gif");
        res.writeHead(200, { "content-type": gif ? "image/gif" : "image/png" });
        res.end(gif ? GIF : PNG);
      };
      waiting.push(send);
      if (waiting.length >= 2) waiting.splice(0).forEach((f) => f());
    });
    await new Promise<void>((r) => images.listen(0, "127.0.0.1", r));
    imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    gateway = await startTestGateway({ GOOGLE_API_KEY: UPSTREAM_KEY, GOOGLE_BASE_URL: fake.url, GATEWAY_IMAGE_FETCH_ALLOW_PRIVATE: "true" });
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
    images?.closeAllConnections();
    await new Promise((r) => images?.close(r));
  });
  beforeEach(() => {
    fake.reply((req) => (req.stream ? { sse: sseFrames(textChunks(["Hello", " there", "!"])) } : { status: 200, json: textResponse("Hello there!") }));
  });

  it("routes gemini-1.5 to Google by default and answers, the upstream getting its key header, the system instruction and merged user turns", async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: "gemini-1.5-pro",
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "Hi." },
          { role: "user", content: "Say hello." },
        ],
        max_completion_tokens: 64,
        temperature: 0.2,
        stop: "\n\n",
      })
      .withResponse();
    expect(response.headers.get("x-gateway-provider")).toBe("google");
    expect(data.choices[0]?.message.content).toBe("Hello there!");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 });
    const sent = fake.requests.at(-1);
    expect(sent?.url).toBe("/v1beta/models/gemini-1.5-pro:generateContent");
    expect(sent?.headers["x-goog-api-key"]).toBe(UPSTREAM_KEY);
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.body).toEqual({
      systemInstruction: { parts: [{ text: "You are terse." }] },
      contents: [{ role: "user", parts: [{ text: "Hi." }, { text: "Say hello." }] }],
      generationConfig: { maxOutputTokens: 64, temperature: 0.2, stopSequences: ["\n\n"] },
    });
  });

  it("streams text from ?alt=sse with a usage chunk, thoughts counted as completion and reasoning tokens", async () => {
    fake.reply(() => ({ sse: sseFrames(textChunks(["Hel", "lo", "!"], "gemini-2.5-flash", usageMetadata(12, 3, 20))) }));
    const stream = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "Say hello." }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello!");
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 23, total_tokens: 35, completion_tokens_details: { reasoning_tokens: 20 } });
    expect(fake.requests.at(-1)?.url).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  });

  it("streams parallel calls as OpenAI tool call deltas, then sends the round trip back with signatures, names and one merged tool-result turn", async () => {
    fake.reply(() => ({ sse: [fixtureResponse("gemini-stream-parallel-calls.txt")] }));
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
    ];
    const question: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather in Paris and in Rome?" };
    const stream = await client.chat.completions.create({ model: "gemini-2.5-flash", messages: [question], tools, stream: true });
    const calls: { id: string; name: string; args: string }[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const t of choice?.delta.tool_calls ?? []) {
        if (t.id) calls[t.index] = { id: t.id, name: t.function?.name ?? "", args: "" };
        (calls[t.index] as { args: string }).args += t.function?.arguments ?? "";
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(calls.map((c) => [c.name, c.args])).toEqual([
      ["get_weather", '{"city":"Paris"}'],
      ["get_weather", '{"city":"Rome"}'],
    ]);
    const recordedSignature = /"thoughtSignature":"([^"]+)"/.exec(fixtureResponse("gemini-stream-parallel-calls.txt"))?.[1];
    expect(thoughtSignatureOfToolCallId(calls[0]?.id ?? "")).toBe(recordedSignature);

    fake.reply(() => ({ status: 200, json: textResponse("Paris 18°C, Rome 21°C.", "gemini-2.5-flash") }));
    const final = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      tools,
      messages: [
        question,
        {
          role: "assistant",
          content: "Let me look both up.",
          tool_calls: calls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.args } })),
        },
        { role: "tool", tool_call_id: calls[0]?.id ?? "", content: "18°C" },
        { role: "tool", tool_call_id: calls[1]?.id ?? "", content: "21°C" },
      ],
    });
    expect(final.choices[0]?.message.content).toBe("Paris 18°C, Rome 21°C.");
    expect(fake.requests.at(-1)?.body.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and in Rome?" }] },
      {
        role: "model",
        parts: [
          { text: "Let me look both up." },
          { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: recordedSignature },
          { functionCall: { name: "get_weather", args: { city: "Rome" } } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { output: "18°C" } } },
          { functionResponse: { name: "get_weather", response: { output: "21°C" } } },
        ],
      },
    ]);
  });

  it("returns a unary function call as tool_calls with a generated id, and maps a named tool_choice", async () => {
    fake.reply(() => ({ status: 200, json: functionCallResponse([{ name: "get_weather", args: { city: "Oslo" } }]) }));
    const res = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    expect(res.choices[0]?.finish_reason).toBe("tool_calls");
    expect(res.choices[0]?.message.tool_calls).toEqual([{ id: expect.stringMatching(/^call_[A-Za-z0-9]{16}$/), type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }]);
    expect(fake.requests.at(-1)?.body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });
  });

  it("sends a data: image and two http images, fetched in parallel, inline", async () => {
    const before = imageRequests;
    const res = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare these." },
            { type: "image_url", image_url: { url: `data:image/jpeg;base64,${Buffer.from("jpeg").toString("base64")}` } },
            { type: "image_url", image_url: { url: `${imagesUrl}/a.png` } },
            { type: "image_url", image_url: { url: `${imagesUrl}/b.gif` } },
          ],
        },
      ],
    });
    expect(res.choices[0]?.message.content).toBe("Hello there!");
    expect(imageRequests - before).toBe(2);
    expect(fake.requests.at(-1)?.body.contents[0].parts).toEqual([
      { text: "Compare these." },
      { inlineData: { mimeType: "image/jpeg", data: Buffer.from("jpeg").toString("base64") } },
      { inlineData: { mimeType: "image/png", data: PNG.toString("base64") } },
      { inlineData: { mimeType: "image/gif", data: GIF.toString("base64") } },
    ]);
  });

  it("asks for JSON with the schema for response_format json_schema", async () => {
    fake.reply(() => ({ status: 200, json: textResponse('{"city":"Paris","temp_c":18}') }));
    const schema = { type: "object", properties: { city: { type: "string" }, temp_c: { type: "number" } }, required: ["city", "temp_c"], additionalProperties: false };
    const res = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      messages: [{ role: "user", content: "Weather in Paris as JSON." }],
      response_format: { type: "json_schema", json_schema: { name: "weather", schema, strict: true } },
    });
    expect(JSON.parse(res.choices[0]?.message.content ?? "")).toEqual({ city: "Paris", temp_c: 18 });
    expect(fake.requests.at(-1)?.body.generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: schema });
  });

  it("returns thoughts as reasoning_content with a reasoning_signature, and sends the signature back on the next turn", async () => {
    fake.reply(() => ({
      status: 200,
      json: {
        candidates: [
          {
            content: { role: "model", parts: [{ text: "Divisors up to 9 fail.", thought: true }, { text: "Yes, 97 is prime.", thoughtSignature: "VEhPVUdIVA==" }] },
            finishReason: "STOP",
            index: 0,
          },
        ],
        usageMetadata: usageMetadata(8, 7, 41),
        modelVersion: "gemini-2.5-flash",
      },
    }));
    const res = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "Is 97 prime?" }],
      reasoning_effort: "low",
    });
    const message = res.choices[0]?.message as unknown as Record<string, unknown>;
    expect(message).toMatchObject({ content: "Yes, 97 is prime.", reasoning_content: "Divisors up to 9 fail.", reasoning_signature: "VEhPVUdIVA==" });
    expect(res.usage?.completion_tokens_details?.reasoning_tokens).toBe(41);
    expect(fake.requests.at(-1)?.body.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } });

    await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [
        { role: "user", content: "Is 97 prime?" },
        { role: "assistant", content: "Yes, 97 is prime.", reasoning_content: "Divisors up to 9 fail.", reasoning_signature: "VEhPVUdIVA==" } as OpenAI.ChatCompletionMessageParam,
        { role: "user", content: "And 91?" },
      ],
    });
    expect(fake.requests.at(-1)?.body.contents[1]).toEqual({ role: "model", parts: [{ text: "Yes, 97 is prime.", thoughtSignature: "VEhPVUdIVA==" }] });
  });

  it("answers 400 naming an unsupported parameter, and drops it on request with a header saying so", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "hi" }];
    const count = fake.requests.length;
    const err = await client.chat.completions.create({ model: "gemini-2.0-flash", messages, user: "user-42" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, param: "user", code: "unsupported_parameter" });
    expect(fake.requests.length).toBe(count);
    const { data, response } = await client.chat.completions
      .create({ model: "gemini-2.0-flash", messages, user: "user-42", logit_bias: { "1": 5 }, drop_params: true } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Hello there!");
    expect(response.headers.get("x-gateway-dropped-params")).toBe("user,logit_bias");
    expect(JSON.stringify(fake.requests.at(-1)?.body)).not.toMatch(/user-42|logit/);
  });

  it("passes an upstream 400 INVALID_ARGUMENT on with its message", async () => {
    fake.reply(() => ({ status: 400, json: geminiError(400, "INVALID_ARGUMENT", "Please ensure that multiturn requests ends with a user role or a function response.") }));
    const err = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as APIError).message).toMatch(/multiturn requests ends with a user role/);
  });

  it("reports Gemini's invalid-key answer (400 API_KEY_INVALID) and a 403 as a 502 that does not leak the upstream message", async () => {
    const invalidKey = geminiError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
      { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" },
    ]);
    const denied = geminiError(403, "PERMISSION_DENIED", "API key not valid for this project.");
    for (const [status, json] of [
      [400, invalidKey],
      [403, denied],
    ] as const) {
      fake.reply(() => ({ status, json }));
      const err = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 502 });
      expect((err as Error).message).not.toMatch(/API key not valid/);
    }
  });

  it("keeps Retry-After on an upstream 429, from the header or from RetryInfo", async () => {
    fake.reply(() => ({ status: 429, json: geminiError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."), headers: { "retry-after": "7" } }));
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "hi" }];
    let err = (await client.chat.completions.create({ model: "gemini-2.0-flash", messages }).catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers?.get("retry-after")).toBe("7");
    fake.reply(() => ({
      status: 429,
      json: geminiError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "36s" }]),
    }));
    err = (await client.chat.completions.create({ model: "gemini-2.0-flash", messages, stream: true }).catch((e: unknown) => e)) as APIError;
    expect(err.status).toBe(429);
    expect(err.headers?.get("retry-after")).toBe("36");
  });

  it("reports 503 UNAVAILABLE as 503, unary and before a stream starts", async () => {
    fake.reply(() => ({ status: 503, json: geminiError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.") }));
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "hi" }];
    await expect(client.chat.completions.create({ model: "gemini-2.0-flash", messages })).rejects.toMatchObject({ status: 503 });
    await expect(client.chat.completions.create({ model: "gemini-2.0-flash", messages, stream: true })).rejects.toMatchObject({ status: 503 });
  });

  it("turns a bare error object in the middle of a stream into an error that the client's stream iteration throws", async () => {
    const wire = fixtureResponse("gemini-stream-mid-stream-error.txt").trimEnd();
    const at = wire.indexOf('{"error"');
    fake.reply(() => ({ sse: [wire.slice(0, at), wire.slice(at)], delayMs: 20 }));
    let text = "";
    const iterate = async () => {
      const stream = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "hi" }], stream: true });
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    };
    await expect(iterate()).rejects.toThrow(/overloaded/);
    expect(text).toBe("The sky");
  });

  it("makes the client's stream fail, after the text so far, when the upstream connection breaks or closes before a finish reason", async () => {
    for (const reply of [
      { sse: sseFrames(textChunks(["The", " sky", " is"]).slice(0, 2)), cut: true },
      { sse: [fixtureResponse("gemini-stream-truncated.txt")] },
    ]) {
      fake.reply(() => reply);
      let text = "";
      const iterate = async () => {
        const stream = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "hi" }], stream: true });
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      };
      await expect(iterate()).rejects.toThrow();
      expect(text.length).toBeGreaterThan(0);
    }
  });
});
