import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import { mapAnthropicError, mapAnthropicErrorText } from "../../src/providers/anthropic/anthropic-errors.ts";
import { decodeAnthropicMessage, mapAnthropicUsage, readAnthropicUsage } from "../../src/providers/anthropic/anthropic-response.ts";
import { decodeReasoningSignature, encodeReasoningSignature } from "../../src/providers/anthropic/anthropic-thinking.ts";
import { mapAnthropicStopReason } from "../../src/providers/anthropic/map-anthropic-stop-reason.ts";
import { fixtureBody } from "../support/fixtures.ts";

describe("Anthropic message decoding", () => {
  it("decodes a recorded JSON-output message into content, finish reason and usage", () => {
    const c = decodeAnthropicMessage(JSON.parse(fixtureBody("anthropic-message-json-output.txt")), 1_700_000_000_500);
    expect(c).toEqual({
      id: "msg_01Egs18hRzhru3uGon3qesbA",
      model: "claude-sonnet-4-5-20250929",
      created: 1_700_000_000,
      usage: { promptTokens: 249, completionTokens: 26, totalTokens: 275, cachedTokens: 0, reasoningTokens: 0 },
      choices: [
        {
          index: 0,
          message: { content: '{"product_name": "Green Tea", "price": 5.50, "quantity": 2}', refusal: null, toolCalls: [], reasoning: undefined, reasoningSignature: undefined },
          finishReason: { unified: "stop", raw: "end_turn" },
        },
      ],
    });
  });

  it("decodes thinking, text and parallel tool_use blocks, with arguments as JSON text", () => {
    const c = decodeAnthropicMessage(JSON.parse(fixtureBody("anthropic-message-thinking-tool-use.txt")));
    const choice = c.choices[0];
    expect(choice?.message).toEqual({
      content: "Let me check.",
      refusal: null,
      reasoning: "Two cities, two calls.",
      reasoningSignature: "EqQBCgIYAhIMunarySignature==",
      toolCalls: [
        { id: "toolu_01A", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { id: "toolu_01B", type: "function", function: { name: "get_weather", arguments: '{"city":"Tokyo","units":"c"}' } },
      ],
    });
    expect(choice?.finishReason).toEqual({ unified: "tool_calls", raw: "tool_use" });
    expect(c.usage).toEqual({ promptTokens: 370, completionTokens: 80, totalTokens: 450, cachedTokens: 300, reasoningTokens: 0 });
  });

  it("answers content null when the message has no text", () => {
    const c = decodeAnthropicMessage({ id: "m", type: "message", model: "x", content: [], stop_reason: "max_tokens", usage: { input_tokens: 1, output_tokens: 0 } });
    expect(c.choices[0]?.message.content).toBeNull();
    expect(c.choices[0]?.finishReason.unified).toBe("length");
  });

  it("refuses a body that is not a message, and maps an error envelope", () => {
    expect(() => decodeAnthropicMessage({ hello: 1 })).toThrow(GatewayError);
    expect(() => decodeAnthropicMessage({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })).toThrow(expect.objectContaining({ status: 503 }));
  });
});

describe("Anthropic finish reasons (table 5.3)", () => {
  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["pause_turn", "stop"],
    ["max_tokens", "length"],
    ["model_context_window_exceeded", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
    ["something_new", "other"],
  ])("maps %s to %s and keeps the raw value", (raw, unified) => {
    expect(mapAnthropicStopReason(raw)).toEqual({ unified, raw });
  });
});

describe("Anthropic usage (table 5.4)", () => {
  it("adds cache reads and writes to the prompt tokens and reports reads as cached", () => {
    const u = mapAnthropicUsage(readAnthropicUsage({ input_tokens: 10, cache_read_input_tokens: 200, cache_creation_input_tokens: 30, output_tokens: 5, output_tokens_details: { thinking_tokens: 3 } }));
    expect(u).toEqual({ promptTokens: 240, completionTokens: 5, totalTokens: 245, cachedTokens: 200, reasoningTokens: 3 });
  });

  it("treats null counts of a stream's usage as absent", () => {
    expect(readAnthropicUsage({ output_tokens: 7, input_tokens: null })).toEqual({ output: 7, input: undefined, cacheRead: undefined, cacheCreation: undefined, thinking: undefined });
  });
});

describe("Anthropic reasoning signatures", () => {
  it("round-trips one thinking block as its bare signature and several as a packed one", () => {
    const one = [{ type: "thinking" as const, thinking: "t", signature: "S" }];
    expect(encodeReasoningSignature(one)).toBe("S");
    expect(decodeReasoningSignature("t", "S", "p")).toEqual(one);
    const many = [...one, { type: "redacted_thinking" as const, data: "D" }];
    expect(decodeReasoningSignature("ignored", encodeReasoningSignature(many), "p")).toEqual(many);
    expect(encodeReasoningSignature([])).toBeUndefined();
  });
});

describe("Anthropic error mapping (table 5.6)", () => {
  const envelope = (type: string, message: string) => ({ type: "error", error: { type, message }, request_id: "req_1" });

  it.each([
    [400, "invalid_request_error", "invalid_request", 400],
    [401, "authentication_error", "upstream_auth", 502],
    [403, "permission_error", "upstream_auth", 502],
    [402, "billing_error", "upstream_auth", 502],
    [404, "not_found_error", "not_found", 404],
    [413, "request_too_large", "payload_too_large", 413],
    [429, "rate_limit_error", "rate_limited", 429],
    [500, "api_error", "upstream_error", 500],
    [504, "timeout_error", "upstream_error", 504],
    [529, "overloaded_error", "upstream_error", 503],
  ])("maps HTTP %i %s to %s with status %i", (status, type, kind, expected) => {
    const err = mapAnthropicError(status, envelope(type, "upstream says no"));
    expect(err).toMatchObject({ kind, status: expected });
  });

  it("keeps Retry-After on 429 and the upstream message, redacted, for the caller", () => {
    const err = mapAnthropicError(429, envelope("rate_limit_error", "slow down, key sk-ant-api03-abcdefghijklmnop"), 30);
    expect(err).toMatchObject({ kind: "rate_limited", retryAfterSeconds: 30, openaiCode: "rate_limit_error" });
    expect(err.message).not.toContain("sk-ant-api03");
  });

  it("never shows the message of a rejected gateway key", () => {
    const err = mapAnthropicError(401, envelope("authentication_error", "invalid x-api-key"));
    expect(err.message).not.toContain("x-api-key");
  });

  it("derives the status of an in-band error event from its type", () => {
    expect(mapAnthropicError(undefined, envelope("overloaded_error", "Overloaded"))).toMatchObject({ kind: "upstream_error", status: 503 });
    expect(mapAnthropicError(undefined, envelope("rate_limit_error", "x"))).toMatchObject({ kind: "rate_limited", status: 429 });
    expect(mapAnthropicError(undefined, envelope("api_error", "x"))).toMatchObject({ kind: "upstream_error", status: 500 });
  });

  it("keeps a non-JSON error body as a truncated message", () => {
    const err = mapAnthropicErrorText(502, "<html>Bad gateway</html>".padEnd(900, "x"));
    expect(err).toMatchObject({ kind: "upstream_error", status: 502 });
    expect(err.message.length).toBeLessThanOrEqual(500);
  });
});
