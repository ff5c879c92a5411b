import { describe, expect, it } from "vitest";
import type { ChatMessage, ChatRequest } from "../../src/chat/chat-types.ts";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import { geminiMethodUrl } from "../../src/providers/gemini/gemini-adapter.ts";
import { remoteImageUrls } from "../../src/providers/gemini/gemini-contents.ts";
import { buildGeminiRequestBody, geminiUnsupportedParams } from "../../src/providers/gemini/gemini-request.ts";
import { createGeminiToolCallId, readGeminiToolCallId, thoughtSignatureOfToolCallId } from "../../src/providers/gemini/gemini-tool-call-id.ts";
import { fixtureRequest } from "../support/fake-gemini.ts";

function request(fields: Partial<ChatRequest> = {}): ChatRequest {
  return { model: "gemini-2.5-flash", messages: [{ role: "user", content: "Hi" }], stream: false, extra: {}, ...fields };
}

function body(fields: Partial<ChatRequest> = {}, images = new Map<string, { mimeType: string; base64: string }>()) {
  return buildGeminiRequestBody(request(fields), "gemini-2.5-flash", images) as any;
}

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  },
};

describe("Gemini tool call ids", () => {
  it("carry a canonical base64 thought signature compactly and give it back unchanged", () => {
    const signature = "CiQBVKhc7gVNlWrmzW9MEk/bjBDPDpxUEY9TBFuB8vn6CVjiCFgKeAFUqFzu+w==";
    const id = createGeminiToolCallId(signature);
    expect(id).toMatch(/^call_[A-Za-z0-9]{16}_s[A-Za-z0-9_-]+$/);
    expect(thoughtSignatureOfToolCallId(id)).toBe(signature);
  });

  it("carry any other signature text unchanged too", () => {
    for (const signature of ["not base64!", "abc", "sig/with+odd=padding=="]) {
      const id = createGeminiToolCallId(signature);
      expect(id).toMatch(/^call_[A-Za-z0-9_-]+$/);
      expect(thoughtSignatureOfToolCallId(id)).toBe(signature);
    }
  });

  it("carry Gemini's own call id, with or without a signature", () => {
    expect(readGeminiToolCallId(createGeminiToolCallId(undefined, "fc_9x-Z_1"))).toEqual({ upstreamId: "fc_9x-Z_1" });
    const id = createGeminiToolCallId("U0lH", "fc_1");
    expect(id).toMatch(/^call_[A-Za-z0-9]{16}_i[0-9a-f]+_sU0lH$/);
    expect(readGeminiToolCallId(id)).toEqual({ upstreamId: "fc_1", signature: "U0lH" });
  });

  it("that were edited or truncated are refused with a 400 naming the tool call, never sent to Gemini", () => {
    const good = createGeminiToolCallId("U0lH", "fc_1");
    expect(readGeminiToolCallId(good.replace(/_i[0-9a-f]+/, "_i666"))).toEqual({ malformed: true });
    expect(readGeminiToolCallId(`${good}A`)).toEqual({ malformed: true });
    const messages: ChatRequest["messages"] = [
      { role: "user", content: "Weather?" },
      { role: "assistant", content: null, tool_calls: [{ id: good.replace(/_i[0-9a-f]+/, "_i666"), type: "function", function: { name: "f", arguments: "{}" } }] },
    ];
    expect(() => buildGeminiRequestBody({ model: "m", messages, stream: false, extra: {} }, "gemini-2.5-flash")).toThrowError(
      expect.objectContaining({ status: 400, param: "messages[1].tool_calls[0].id" }),
    );
  });

  it("are plain and unique without a signature, and foreign ids carry none", () => {
    const ids = new Set(Array.from({ length: 50 }, () => createGeminiToolCallId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^call_[A-Za-z0-9]{16}$/);
    for (const id of ["call_abc", "toolu_01NRLabsLyVHZPKxbKvkfSMn", "call_paris_1", ...ids]) expect(thoughtSignatureOfToolCallId(id)).toBeUndefined();
  });
});

describe("Gemini request mapping (wire-formats 5.1)", () => {
  it("puts the model in the URL path, with :streamGenerateContent?alt=sse for streams", () => {
    const base = "https://generativelanguage.googleapis.com/v1beta";
    expect(geminiMethodUrl(base, "gemini-2.0-flash", "generateContent")).toBe(`${base}/models/gemini-2.0-flash:generateContent`);
    expect(geminiMethodUrl(base, "gemini-2.0-flash", "streamGenerateContent")).toBe(`${base}/models/gemini-2.0-flash:streamGenerateContent?alt=sse`);
    expect(geminiMethodUrl(base, "tunedModels/my-model", "generateContent")).toBe(`${base}/tunedModels/my-model:generateContent`);
    expect(body()).not.toHaveProperty("model");
  });

  it("hoists system and developer messages, in order, into systemInstruction", () => {
    const b = body({
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi" },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "Bye" },
      ],
    });
    expect(b.systemInstruction).toEqual({ parts: [{ text: "You are terse." }, { text: "Answer in French." }] });
    expect(b.contents).toEqual([{ role: "user", parts: [{ text: "Hi" }, { text: "Bye" }] }]);
  });

  it("sends no systemInstruction and no generationConfig when there is nothing to say", () => {
    expect(body()).toEqual({ contents: [{ role: "user", parts: [{ text: "Hi" }] }] });
  });

  it("prefers max_completion_tokens over max_tokens for maxOutputTokens", () => {
    expect(body({ max_tokens: 100, max_completion_tokens: 50 }).generationConfig).toEqual({ maxOutputTokens: 50 });
    expect(body({ max_tokens: 100 }).generationConfig).toEqual({ maxOutputTokens: 100 });
  });

  it("maps temperature, top_p, top_k, seed and the penalties into generationConfig", () => {
    const b = body({ temperature: 1.5, top_p: 0.9, seed: 7, presence_penalty: 0.5, frequency_penalty: -0.5, extra: { top_k: 40 } });
    expect(b.generationConfig).toEqual({ temperature: 1.5, topP: 0.9, topK: 40, seed: 7, presencePenalty: 0.5, frequencyPenalty: -0.5 });
  });

  it("wraps a stop string in stopSequences and passes an array as is", () => {
    expect(body({ stop: "\n\n" }).generationConfig).toEqual({ stopSequences: ["\n\n"] });
    expect(body({ stop: ["END", "STOP"] }).generationConfig).toEqual({ stopSequences: ["END", "STOP"] });
  });

  it("maps n to candidateCount", () => {
    expect(body({ n: 3 }).generationConfig).toEqual({ candidateCount: 3 });
  });

  it("maps logprobs and top_logprobs to responseLogprobs and logprobs", () => {
    expect(body({ logprobs: true, top_logprobs: 5 }).generationConfig).toEqual({ responseLogprobs: true, logprobs: 5 });
    expect(body({ logprobs: false, top_logprobs: 5 })).not.toHaveProperty("generationConfig");
  });

  it("declares tools as functionDeclarations with their JSON Schema in parametersJsonSchema, minus $schema", () => {
    const noArgs = { type: "function" as const, function: { name: "now", parameters: { type: "object", properties: {} } } };
    expect(body({ tools: [weatherTool, noArgs] }).tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Current weather in a city",
            parametersJsonSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
          },
          { name: "now" },
        ],
      },
    ]);
  });

  it("maps tool_choice auto, none, required and a named function to functionCallingConfig", () => {
    const config = (tool_choice: ChatRequest["tool_choice"]) => body({ tools: [weatherTool], tool_choice }).toolConfig;
    expect(config("auto")).toEqual({ functionCallingConfig: { mode: "AUTO" } });
    expect(config("none")).toEqual({ functionCallingConfig: { mode: "NONE" } });
    expect(config("required")).toEqual({ functionCallingConfig: { mode: "ANY" } });
    expect(config({ type: "function", function: { name: "get_weather" } })).toEqual({
      functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] },
    });
    expect(body({ tools: [weatherTool] })).not.toHaveProperty("toolConfig");
    expect(body({ tool_choice: "none" })).not.toHaveProperty("toolConfig");
    expect(() => body({ tool_choice: "required" })).toThrowError(expect.objectContaining({ param: "tool_choice", status: 400 }));
  });

  it("refuses a conversation of system messages only, which Gemini cannot answer", () => {
    expect(() => buildGeminiRequestBody(request({ messages: [{ role: "system", content: "Be brief." }] }), "gemini-2.5-flash")).toThrowError(
      expect.objectContaining({ param: "messages", status: 400 }),
    );
  });

  it("gives Gemini 3 the documented placeholder signature on a replayed tool call the gateway did not make", () => {
    const messages: ChatRequest["messages"] = [
      { role: "user", content: "Weather?" },
      { role: "assistant", content: null, tool_calls: [{ id: "toolu_01", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }, { id: "toolu_02", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }] },
      { role: "tool", tool_call_id: "toolu_01", content: "sunny" },
      { role: "tool", tool_call_id: "toolu_02", content: "rain" },
    ];
    const parts = (model: string) => (buildGeminiRequestBody(request({ messages }), model).contents as { parts: Record<string, unknown>[] }[])[1]?.parts;
    expect(parts("gemini-3-pro-preview")?.map((p) => p.thoughtSignature)).toEqual(["skip_thought_signature_validator", undefined]);
    expect(parts("gemini-2.5-flash")?.map((p) => p.thoughtSignature)).toEqual([undefined, undefined]);
  });

  it("maps response_format json_object to a JSON MIME type, and json_schema to that plus responseJsonSchema", () => {
    expect(body({ response_format: { type: "json_object" } }).generationConfig).toEqual({ responseMimeType: "application/json" });
    const schema = { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    expect(body({ response_format: { type: "json_schema", json_schema: { name: "reply", schema, strict: true } } }).generationConfig).toEqual({
      responseMimeType: "application/json",
      responseJsonSchema: { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] },
    });
    expect(body({ response_format: { type: "text" } })).not.toHaveProperty("generationConfig");
  });

  it("maps reasoning_effort to a thinking budget for Gemini 2.x and a thinking level for Gemini 3, with thoughts included", () => {
    const config = (effort: string, model: string) => (buildGeminiRequestBody(request({ extra: { reasoning_effort: effort } }), model) as any).generationConfig;
    expect(config("low", "gemini-2.5-flash")).toEqual({ thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } });
    expect(config("high", "gemini-2.5-pro")).toEqual({ thinkingConfig: { thinkingBudget: 4096, includeThoughts: true } });
    expect(config("none", "gemini-2.5-flash")).toEqual({ thinkingConfig: { thinkingBudget: 0, includeThoughts: false } });
    // 2.5 Pro cannot stop thinking: the least it allows, not shown.
    expect(config("none", "gemini-2.5-pro")).toEqual({ thinkingConfig: { thinkingBudget: 128, includeThoughts: false } });
    expect(config("medium", "gemini-3-pro-preview")).toEqual({ thinkingConfig: { thinkingLevel: "high", includeThoughts: true } });
    expect(config("minimal", "gemini-3-flash")).toEqual({ thinkingConfig: { thinkingLevel: "low", includeThoughts: true } });
  });

  it("lists user, parallel_tool_calls false, unknown reasoning efforts and unknown extra fields as unsupported", () => {
    expect(geminiUnsupportedParams(request({ user: "u-1" }))).toEqual(["user"]);
    expect(geminiUnsupportedParams(request({ parallel_tool_calls: false }))).toEqual(["parallel_tool_calls"]);
    expect(geminiUnsupportedParams(request({ parallel_tool_calls: true }))).toEqual([]);
    expect(geminiUnsupportedParams(request({ extra: { logit_bias: { "50256": -100 }, metadata: { a: "b" }, service_tier: null } }))).toEqual(["logit_bias", "metadata"]);
    expect(geminiUnsupportedParams(request({ extra: { reasoning_effort: "extreme" } }))).toEqual(["reasoning_effort"]);
    expect(
      geminiUnsupportedParams(request({ n: 2, seed: 1, logprobs: true, top_logprobs: 2, stop: "x", extra: { reasoning_effort: "low", top_k: 3 } })),
    ).toEqual([]);
  });
});

describe("Gemini message mapping (wire-formats 5.2)", () => {
  it("maps user text, as a string or as text parts, to a user turn", () => {
    expect(body({ messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }] }).contents).toEqual([
      { role: "user", parts: [{ text: "a" }, { text: "b" }] },
    ]);
  });

  it("decodes a data: URL image into inlineData", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/PNG;base64,iVBORw0KGgo=" } }] },
    ];
    expect(body({ messages }).contents[0].parts).toEqual([{ text: "What is this?" }, { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }]);
  });

  it("takes an http(s) image from the images fetched beforehand, each URL listed once for fetching", () => {
    const url = "https://example.com/cat.jpg";
    const messages: ChatMessage[] = [
      { role: "user", content: [{ type: "image_url", image_url: { url } }, { type: "image_url", image_url: { url: "data:image/gif;base64,R0lG" } }] },
      { role: "assistant", content: "A cat." },
      { role: "user", content: [{ type: "image_url", image_url: { url, detail: "high" } }] },
    ];
    expect(remoteImageUrls(request({ messages }))).toEqual([url]);
    const b = body({ messages }, new Map([[url, { mimeType: "image/jpeg", base64: "/9j/4AAQ" }]]));
    expect(b.contents[0].parts[0]).toEqual({ inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQ" } });
    expect(b.contents[2].parts).toEqual([{ inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQ" } }]);
  });

  it("refuses an image URL that is neither http(s) nor a base64 data URL", () => {
    const messages: ChatMessage[] = [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://example.com/a.png" } }] }];
    expect(() => body({ messages })).toThrowError(expect.objectContaining({ kind: "invalid_request", param: "messages[0].content[0].image_url.url" }));
  });

  it("maps audio and file data to inlineData and refuses file ids", () => {
    const messages: ChatMessage[] = [
      {
        role: "user",
        content: [
          { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
          { type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } },
        ],
      },
    ];
    expect(body({ messages }).contents[0].parts).toEqual([
      { inlineData: { mimeType: "audio/wav", data: "UklGRg==" } },
      { inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } },
    ]);
    expect(() => body({ messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }] })).toThrowError(GatewayError);
  });

  it("maps assistant text to a model turn", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
      { role: "user", content: "How are you?" },
    ];
    expect(body({ messages }).contents).toEqual([
      { role: "user", parts: [{ text: "Hi" }] },
      { role: "model", parts: [{ text: "Hello!" }] },
      { role: "user", parts: [{ text: "How are you?" }] },
    ]);
  });

  it("maps assistant tool calls to functionCall parts with parsed args, after the text, each with the signature its id carries", () => {
    const signed = createGeminiToolCallId("c2lnbmF0dXJlLW9uZQ==");
    const messages: ChatMessage[] = [
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Looking.",
        tool_calls: [
          { id: signed, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "call_plain", type: "function", function: { name: "get_weather", arguments: "" } },
        ],
      },
    ];
    expect(body({ messages }).contents[1]).toEqual({
      role: "model",
      parts: [
        { text: "Looking." },
        { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "c2lnbmF0dXJlLW9uZQ==" },
        { functionCall: { name: "get_weather", args: {} } },
      ],
    });
  });

  it("returns an assistant reasoning_signature on the first call when no call id carries one, else on the last text part", () => {
    const call = (id: string) => ({ id, type: "function" as const, function: { name: "f", arguments: "{}" } });
    const turn = (m: Partial<ChatMessage>) => body({ messages: [{ role: "user", content: "x" }, { role: "assistant", ...m }] }).contents[1].parts;
    expect(turn({ tool_calls: [call("a"), call("b")], reasoning_signature: "SIG" })).toEqual([
      { functionCall: { name: "f", args: {} }, thoughtSignature: "SIG" },
      { functionCall: { name: "f", args: {} } },
    ]);
    expect(turn({ content: "Yes.", reasoning_signature: "SIG", reasoning_content: "thinking…" })).toEqual([{ text: "Yes.", thoughtSignature: "SIG" }]);
    expect(turn({ content: null, reasoning_signature: "SIG" })).toEqual([{ text: "", thoughtSignature: "SIG" }]);
    expect(turn({ content: "Calling.", tool_calls: [call(createGeminiToolCallId("T1"))], reasoning_signature: "SIG" })).toEqual([
      { text: "Calling.", thoughtSignature: "SIG" },
      { functionCall: { name: "f", args: {} }, thoughtSignature: "T1" },
    ]);
  });

  it("refuses tool call arguments that are not a JSON object", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "x" },
      { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "[1,2]" } }] },
    ];
    expect(() => body({ messages })).toThrowError(expect.objectContaining({ kind: "invalid_request", param: "messages[1].tool_calls[0].function.arguments" }));
  });

  it("maps consecutive tool results to functionResponse parts of one user turn, named after the earlier call with their id", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "call_b", type: "function", function: { name: "get_forecast", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_a", content: "18°C and sunny" },
      { role: "tool", tool_call_id: "call_b", content: [{ type: "text", text: '{"temp_c":21,"sky":"clear"}' }] },
      { role: "user", content: "Thanks! Which is warmer?" },
    ];
    expect(body({ messages }).contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and Rome?" }] },
      {
        role: "model",
        parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }, { functionCall: { name: "get_forecast", args: { city: "Rome" } } }],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { output: "18°C and sunny" } } },
          { functionResponse: { name: "get_forecast", response: { temp_c: 21, sky: "clear" } } },
          { text: "Thanks! Which is warmer?" },
        ],
      },
    ]);
  });

  it("returns Gemini's own call id on the function call and on its function response", () => {
    const id = createGeminiToolCallId(undefined, "fc_7");
    const messages: ChatMessage[] = [
      { role: "user", content: "x" },
      { role: "assistant", tool_calls: [{ id, type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: id, content: "done" },
    ];
    expect(body({ messages }).contents.slice(1)).toEqual([
      { role: "model", parts: [{ functionCall: { name: "f", args: {}, id: "fc_7" } }] },
      { role: "user", parts: [{ functionResponse: { name: "f", response: { output: "done" }, id: "fc_7" } }] },
    ]);
  });

  it("refuses a tool result whose id no earlier assistant tool call has", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "x" },
      { role: "tool", tool_call_id: "call_unknown", content: "42" },
    ];
    expect(() => body({ messages })).toThrowError(expect.objectContaining({ kind: "invalid_request", param: "messages[1].tool_call_id" }));
  });

  it("merges consecutive messages of one role, as Gemini requires alternation, and drops message names", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "First.", name: "alice" },
      { role: "user", content: "Second." },
      { role: "assistant", content: "One." },
      { role: "assistant", content: "Two." },
      { role: "user", content: "" },
      { role: "user", content: "Third." },
    ];
    expect(body({ messages }).contents).toEqual([
      { role: "user", parts: [{ text: "First." }, { text: "Second." }] },
      { role: "model", parts: [{ text: "One." }, { text: "Two." }] },
      { role: "user", parts: [{ text: "Third." }] },
    ]);
  });

  it("rebuilds the recorded follow-up requests of a function-calling chat from the OpenAI conversation a client sends back", () => {
    const recorded2 = fixtureRequest("gemini-stream-function-call-thought-signature.txt", 2);
    const recorded3 = fixtureRequest("gemini-stream-function-call-thought-signature.txt", 3);
    const modelTurn = (n: number) => recorded3.contents[n].parts[0];
    const tools = [
      {
        type: "function" as const,
        function: { name: "customDivide", description: "Custom divide function", parameters: recorded3.tools[0].functionDeclarations[0].parametersJsonSchema },
      },
    ];
    const call = (n: number) => ({
      id: createGeminiToolCallId(modelTurn(n).thoughtSignature),
      type: "function" as const,
      function: { name: "customDivide", arguments: JSON.stringify(modelTurn(n).functionCall.args) },
    });
    const first = call(1);
    const second = call(3);
    const messages: ChatMessage[] = [
      { role: "user", content: recorded3.contents[0].parts[0].text },
      { role: "assistant", content: null, tool_calls: [first] },
      { role: "tool", tool_call_id: first.id, content: '{"output": 42}' },
    ];
    const req2 = buildGeminiRequestBody(request({ messages, tools, tool_choice: "auto" }), "gemini-2.5-flash");
    expect(req2).toEqual({ ...recorded2, generationConfig: undefined });
    messages.push({ role: "assistant", content: null, tool_calls: [second] }, { role: "tool", tool_call_id: second.id, content: '{"output": 2}' });
    const req3 = buildGeminiRequestBody(request({ messages, tools, tool_choice: "auto" }), "gemini-2.5-flash");
    expect(req3).toEqual({ ...recorded3, generationConfig: undefined });
  });
});
