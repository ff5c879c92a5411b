import { describe, expect, it } from "vitest";
import { validateChatRequest } from "../../src/chat/validate-chat-request.ts";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import {
  anthropicUnsupportedParams,
  buildAnthropicRequest,
  imageUrlsToFetch,
  JSON_OBJECT_INSTRUCTION,
} from "../../src/providers/anthropic/anthropic-request.ts";
import { encodeReasoningSignature, PACKED_SIGNATURE_PREFIX } from "../../src/providers/anthropic/anthropic-thinking.ts";

const user = (content: unknown) => ({ role: "user", content });

function request(fields: Record<string, unknown>) {
  return validateChatRequest({ model: "claude-3-5-sonnet", messages: [user("hi")], ...fields });
}

function build(fields: Record<string, unknown>, images = new Map()) {
  return buildAnthropicRequest(request(fields), { model: "claude-sonnet-4-5", defaultMaxTokens: 4096, images }) as Record<string, any>;
}

function rejection(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a GatewayError");
}

const PNG = "iVBORw0KGgo=";
const weatherTool = { type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

describe("Anthropic request mapping: parameters (table 5.1)", () => {
  it("sends the upstream model name and a user string as a text block", () => {
    const body = build({});
    expect(body.model).toBe("claude-sonnet-4-5");
    expect(body.messages).toEqual([{ role: "user", content: [{ type: "text", text: "hi" }] }]);
    expect(body.stream).toBeUndefined();
  });

  it("prefers max_completion_tokens over max_tokens, and uses the configured default when neither is given", () => {
    expect(build({ max_tokens: 10, max_completion_tokens: 20 }).max_tokens).toBe(20);
    expect(build({ max_tokens: 10 }).max_tokens).toBe(10);
    expect(build({}).max_tokens).toBe(4096);
  });

  it("hoists system and developer messages, in order, to the top-level system", () => {
    const single = build({ messages: [{ role: "system", content: "Be brief." }, user("hi")] });
    expect(single.system).toBe("Be brief.");
    const several = build({
      messages: [
        { role: "system", content: "Be brief." },
        user("hi"),
        { role: "assistant", content: "Hello" },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        user("again"),
      ],
    });
    expect(several.system).toEqual([
      { type: "text", text: "Be brief." },
      { type: "text", text: "Answer in French." },
    ]);
    expect(several.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
  });

  it("keeps a cache_control the client set on a system text part", () => {
    const body = build({ messages: [{ role: "system", content: [{ type: "text", text: "Long context", cache_control: { type: "ephemeral" } }] }, user("hi")] });
    expect(body.system).toEqual([{ type: "text", text: "Long context", cache_control: { type: "ephemeral" } }]);
  });

  it("passes temperature, top_p and top_k through", () => {
    const body = build({ temperature: 0.3, top_p: 0.9, top_k: 40 });
    expect(body).toMatchObject({ temperature: 0.3, top_p: 0.9, top_k: 40 });
  });

  it("wraps a stop string in stop_sequences and drops whitespace-only stops", () => {
    expect(build({ stop: "END" }).stop_sequences).toEqual(["END"]);
    expect(build({ stop: ["END", "\n", "STOP"] }).stop_sequences).toEqual(["END", "STOP"]);
    expect(build({ stop: [" "] }).stop_sequences).toBeUndefined();
  });

  it("sends user as metadata.user_id", () => {
    expect(build({ user: "user-42" }).metadata).toEqual({ user_id: "user-42" });
  });

  it("asks for a stream when the request streams", () => {
    expect(build({ stream: true, stream_options: { include_usage: true } }).stream).toBe(true);
  });

  it("maps tools to name, description and input_schema, dropping strict", () => {
    const body = build({ tools: [{ ...weatherTool, function: { ...weatherTool.function, strict: true } }, { type: "function", function: { name: "now" } }] });
    expect(body.tools).toEqual([
      { name: "get_weather", description: "Weather of a city", input_schema: weatherTool.function.parameters },
      { name: "now", input_schema: { type: "object", properties: {} } },
    ]);
    expect(body.tool_choice).toBeUndefined();
  });

  it.each([
    ["auto", { type: "auto" }],
    ["none", { type: "none" }],
    ["required", { type: "any" }],
    [{ type: "function", function: { name: "get_weather" } }, { type: "tool", name: "get_weather" }],
  ])("maps tool_choice %j to %j", (choice, expected) => {
    expect(build({ tools: [weatherTool], tool_choice: choice }).tool_choice).toEqual(expected);
  });

  it("maps parallel_tool_calls false to disable_parallel_tool_use, adding auto when no choice was given", () => {
    expect(build({ tools: [weatherTool], parallel_tool_calls: false }).tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(build({ tools: [weatherTool], tool_choice: "required", parallel_tool_calls: false }).tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(build({ tools: [weatherTool], parallel_tool_calls: true }).tool_choice).toBeUndefined();
  });

  it("maps response_format json_schema to native structured output in output_config.format", () => {
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"], additionalProperties: false };
    const body = build({ response_format: { type: "json_schema", json_schema: { name: "answer", schema, strict: true } } });
    expect(body.output_config).toEqual({ format: { type: "json_schema", schema } });
  });

  it("maps response_format json_object to an instruction appended to system", () => {
    expect(build({ response_format: { type: "json_object" } }).system).toBe(JSON_OBJECT_INSTRUCTION);
    const body = build({ messages: [{ role: "system", content: "You extract data." }, user("hi")], response_format: { type: "json_object" } });
    expect(body.system).toEqual([
      { type: "text", text: "You extract data." },
      { type: "text", text: JSON_OBJECT_INSTRUCTION },
    ]);
    expect(body.output_config).toBeUndefined();
  });

  it("maps reasoning_effort to extended thinking, adding the budget to the default limit", () => {
    const body = build({ reasoning_effort: "medium" });
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 4096 });
    expect(body.max_tokens).toBe(4096 + 4096);
    expect(build({ reasoning_effort: "none" }).thinking).toBeUndefined();
  });

  it("maps reasoning_effort to adaptive thinking with an effort on the models that take it (Claude 4.6 and later)", () => {
    const on = (model: string, fields: Record<string, unknown>) => buildAnthropicRequest(request(fields), { model, defaultMaxTokens: 4096 }) as Record<string, any>;
    const opus = on("claude-opus-4-7", { reasoning_effort: "medium" });
    expect(opus.thinking).toEqual({ type: "adaptive" });
    expect(opus.output_config).toEqual({ effort: "medium" });
    expect(opus.max_tokens).toBe(4096 + 4096);
    expect(on("claude-opus-4-6", { reasoning_effort: "xhigh" }).output_config).toEqual({ effort: "max" });
    expect(on("claude-sonnet-4-6", { reasoning_effort: "xhigh" }).output_config).toEqual({ effort: "high" });
    expect(on("claude-sonnet-4-6", { reasoning_effort: "minimal", max_completion_tokens: 500 })).toMatchObject({ max_tokens: 500, output_config: { effort: "low" } });
    // Structured output and effort share output_config.
    const schema = { type: "object", properties: { a: { type: "string" } } };
    expect(on("claude-opus-4-7", { reasoning_effort: "low", response_format: { type: "json_schema", json_schema: { name: "x", schema } } }).output_config).toEqual({
      format: { type: "json_schema", schema },
      effort: "low",
    });
    expect(on("claude-sonnet-4-5", { reasoning_effort: "low" }).thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
    expect(on("claude-opus-4-7", { reasoning_effort: "none" }).thinking).toBeUndefined();
  });

  it("takes a limit the gateway imposes (a budgeted key) as the default, not as the caller's: the thinking budget is added, not fitted under it", () => {
    const body = buildAnthropicRequest(request({ reasoning_effort: "high" }), { model: "claude-sonnet-4-5", defaultMaxTokens: 2000 }) as Record<string, any>;
    expect(body).toMatchObject({ max_tokens: 2000 + 16384, thinking: { type: "enabled", budget_tokens: 16384 } });
  });

  it("fits the thinking budget under an explicit limit, and refuses a limit too small for any thinking", () => {
    const body = build({ reasoning_effort: "high", max_completion_tokens: 8000 });
    expect(body).toMatchObject({ max_tokens: 8000, thinking: { type: "enabled", budget_tokens: 7999 } });
    expect(rejection(() => build({ reasoning_effort: "low", max_tokens: 1000 })).param).toBe("reasoning_effort");
    expect(rejection(() => build({ reasoning_effort: "extreme" })).param).toBe("reasoning_effort");
  });
});

describe("Anthropic request mapping: unsupported parameters", () => {
  it("names every parameter Anthropic cannot honour", () => {
    const req = request({ n: 2, logprobs: true, top_logprobs: 2, presence_penalty: 0.5, frequency_penalty: 0.1, seed: 7, temperature: 1.5, logit_bias: { "50256": -100 }, store: true });
    expect(anthropicUnsupportedParams(req).sort()).toEqual(
      ["frequency_penalty", "logit_bias", "logprobs", "n", "presence_penalty", "seed", "store", "temperature", "top_logprobs"].sort(),
    );
  });

  it("accepts the values that change nothing, and the extras it maps", () => {
    const req = request({ n: 1, logprobs: false, presence_penalty: 0, frequency_penalty: 0, temperature: 1, reasoning_effort: "low", top_p: 0.95, metadata: null });
    expect(anthropicUnsupportedParams(req)).toEqual([]);
    expect(anthropicUnsupportedParams(request({ temperature: 0.2, top_k: 5, top_p: 0.5, tool_choice: "required" }))).toEqual([]);
  });

  it("names what extended thinking cannot take: temperature but 1, top_k, top_p below 0.95, forced tool use", () => {
    const req = request({ reasoning_effort: "medium", temperature: 0.2, top_k: 5, top_p: 0.9, tool_choice: { type: "function", function: { name: "f" } } });
    expect(anthropicUnsupportedParams(req).sort()).toEqual(["temperature", "tool_choice", "top_k", "top_p"]);
    expect(anthropicUnsupportedParams(request({ reasoning_effort: "none", temperature: 0.2 }))).toEqual([]);
  });
});

describe("Anthropic request mapping: messages and content (table 5.2)", () => {
  it("maps text parts and omits empty ones", () => {
    const body = build({ messages: [user([{ type: "text", text: "a" }, { type: "text", text: "  " }, { type: "text", text: "b" }])] });
    expect(body.messages[0].content).toEqual([
      { type: "text", text: "a" },
      { type: "text", text: "b" },
    ]);
  });

  it("sends data: URL images as base64 sources and https URLs as URL sources", () => {
    const body = build({
      messages: [user([{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } }, { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } }])],
    });
    expect(body.messages[0].content.slice(1)).toEqual([
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
  });

  it("sends the common misspelling image/jpg as image/jpeg", () => {
    const body = build({ messages: [user([{ type: "image_url", image_url: { url: `data:image/jpg;base64,${PNG}` } }])] });
    expect(body.messages[0].content[0]).toEqual({ type: "image", source: { type: "base64", media_type: "image/jpeg", data: PNG } });
  });

  it("refuses an image type Anthropic does not take, naming the part", () => {
    const err = rejection(() => build({ messages: [user([{ type: "text", text: "x" }, { type: "image_url", image_url: { url: "data:image/bmp;base64,Qk0=" } }])] }));
    expect(err.status).toBe(400);
    expect(err.param).toBe("messages[0].content[1].image_url.url");
    expect(err.message).toContain("image/bmp");
  });

  it("lists http images to fetch first, and inlines them once fetched", () => {
    const fields = { messages: [user([{ type: "image_url", image_url: { url: "http://images.local/a.png" } }, { type: "image_url", image_url: { url: "https://x.test/b.png" } }])] };
    expect([...imageUrlsToFetch(request(fields))]).toEqual([["http://images.local/a.png", "messages[0].content[0].image_url.url"]]);
    const body = build(fields, new Map([["http://images.local/a.png", { mimeType: "image/gif", base64: "R0lG" }]]));
    expect(body.messages[0].content[0]).toEqual({ type: "image", source: { type: "base64", media_type: "image/gif", data: "R0lG" } });
    expect(rejection(() => build({ messages: [user([{ type: "image_url", image_url: { url: "ftp://x.test/a.png" } }])] })).param).toBe("messages[0].content[0].image_url.url");
  });

  it("sends an inline PDF file as a document block and refuses audio, naming the part", () => {
    const body = build({ messages: [user([{ type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } }])] });
    expect(body.messages[0].content).toEqual([{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } }]);
    expect(rejection(() => build({ messages: [user([{ type: "input_audio", input_audio: { data: "x", format: "wav" } }])] })).param).toBe("messages[0].content[0].type");
  });

  it("maps assistant text and tool calls to text and tool_use blocks, parsing the arguments", () => {
    const body = build({
      tools: [weatherTool],
      messages: [
        user("weather?"),
        { role: "assistant", content: "Checking.", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }, { id: "toolu_2", type: "function", function: { name: "get_weather", arguments: "" } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "sunny" },
        { role: "tool", tool_call_id: "toolu_2", content: "rainy" },
      ],
    });
    expect(body.messages[1]).toEqual({
      role: "assistant",
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_2", name: "get_weather", input: {} },
      ],
    });
  });

  it("omits the empty text of an assistant turn that only calls tools", () => {
    const body = build({ messages: [user("x"), { role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] }] });
    expect(body.messages[1].content).toEqual([{ type: "tool_use", id: "t", name: "f", input: {} }]);
  });

  it("refuses tool call arguments that are not a JSON object, naming them", () => {
    const err = rejection(() => build({ messages: [user("x"), { role: "assistant", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{not json" } }] }] }));
    expect(err.param).toBe("messages[1].tool_calls[0].function.arguments");
    expect(rejection(() => build({ messages: [user("x"), { role: "assistant", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "[1]" } }] }] })).status).toBe(400);
  });

  it("merges all tool results after one assistant turn, and the user text after them, into one user turn, tool results first", () => {
    const body = build({
      messages: [
        user("weather in Paris and Tokyo?"),
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "w", arguments: "{}" } }, { id: "toolu_2", type: "function", function: { name: "w", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "sunny" },
        { role: "tool", tool_call_id: "toolu_2", content: [{ type: "text", text: "rainy" }] },
        user("and in Rome?"),
      ],
    });
    expect(body.messages).toHaveLength(3);
    expect(body.messages[2]).toEqual({
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_1", content: "sunny" },
        { type: "tool_result", tool_use_id: "toolu_2", content: [{ type: "text", text: "rainy" }] },
        { type: "text", text: "and in Rome?" },
      ],
    });
  });

  it("merges consecutive messages of one role into one turn", () => {
    const body = build({ messages: [user("one"), user("two"), { role: "assistant", content: "a" }, { role: "assistant", content: "b" }, user("three")] });
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "one" }, { type: "text", text: "two" }] },
      { role: "assistant", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
      { role: "user", content: [{ type: "text", text: "three" }] },
    ]);
  });

  it("trims the trailing whitespace of a closing assistant prefill, and drops message names", () => {
    const body = build({ messages: [{ role: "user", content: "hi", name: "alice" }, { role: "assistant", content: "The answer is " }] });
    expect(body.messages[0]).toEqual({ role: "user", content: [{ type: "text", text: "hi" }] });
    expect(body.messages[1].content).toEqual([{ type: "text", text: "The answer is" }]);
  });

  it("rebuilds a thinking block, first in the assistant turn, from reasoning_content and reasoning_signature", () => {
    const body = build({
      messages: [user("x"), { role: "assistant", content: "Answer", reasoning_content: "I thought.", reasoning_signature: "SIG==" }, user("more")],
    });
    expect(body.messages[1].content).toEqual([
      { type: "thinking", thinking: "I thought.", signature: "SIG==" },
      { type: "text", text: "Answer" },
    ]);
  });

  it("rebuilds several thinking blocks, redacted ones included, from a packed signature", () => {
    const blocks = [
      { type: "thinking" as const, thinking: "visible", signature: "S1" },
      { type: "redacted_thinking" as const, data: "opaque" },
    ];
    const signature = encodeReasoningSignature(blocks) as string;
    expect(signature.startsWith(PACKED_SIGNATURE_PREFIX)).toBe(true);
    const body = build({ messages: [user("x"), { role: "assistant", content: "ok", reasoning_content: "visible", reasoning_signature: signature }] });
    expect(body.messages[1].content).toEqual([...blocks, { type: "text", text: "ok" }]);
  });

  it("does not forward reasoning without a signature, and refuses a forged packed signature", () => {
    const body = build({ messages: [user("x"), { role: "assistant", content: "ok", reasoning_content: "unsigned" }, user("y")] });
    expect(body.messages[1].content).toEqual([{ type: "text", text: "ok" }]);
    const err = rejection(() => build({ messages: [user("x"), { role: "assistant", content: "ok", reasoning_signature: `${PACKED_SIGNATURE_PREFIX}bm90IGpzb24` }] }));
    expect(err.param).toBe("messages[1].reasoning_signature");
  });
});
