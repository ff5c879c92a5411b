import { describe, expect, it } from "vitest";
import { decodeGeminiResponse, mapGeminiUsage } from "../../src/providers/gemini/gemini-response.ts";
import { readGeminiToolCallId, thoughtSignatureOfToolCallId } from "../../src/providers/gemini/gemini-tool-call-id.ts";
import { mapGeminiFinishReason } from "../../src/providers/gemini/map-gemini-finish-reason.ts";
import { fixtureResponse, functionCallResponse, textResponse } from "../support/fake-gemini.ts";

/** The recorded (non-streamed shape) response of a fixture's stream: its data events merged into one response. */
function recordedResponse(name: string, n = 1): any {
  const events = fixtureResponse(name, n)
    .split("\r\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => JSON.parse(l.slice(6)));
  const last = events.at(-1);
  const parts = events.flatMap((e) => e.candidates[0].content.parts);
  return { ...last, candidates: [{ ...last.candidates[0], content: { role: "model", parts } }] };
}

describe("Gemini response decoding", () => {
  it("decodes a text answer into one choice with content, stop and usage", () => {
    const c = decodeGeminiResponse(textResponse("Hello there!"), "gemini-1.5-pro");
    expect(c).toMatchObject({
      id: "fake-response-1",
      model: "gemini-2.0-flash",
      choices: [{ index: 0, message: { content: "Hello there!", refusal: null, toolCalls: [] }, finishReason: { unified: "stop", raw: "STOP" } }],
      usage: { promptTokens: 9, completionTokens: 3, totalTokens: 12, cachedTokens: 0, reasoningTokens: 0 },
    });
  });

  it("decodes the recorded function call into a tool call with a generated id carrying its signature, finished as tool_calls", () => {
    const body = recordedResponse("gemini-stream-function-call-thought-signature.txt", 1);
    const c = decodeGeminiResponse(body, "gemini-2.5-flash");
    const [choice] = c.choices;
    expect(choice?.finishReason).toEqual({ unified: "tool_calls", raw: "STOP" });
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.toolCalls).toHaveLength(1);
    const call = choice?.message.toolCalls[0];
    expect(call).toMatchObject({ type: "function", function: { name: "customDivide", arguments: '{"denominator":2,"numerator":10}' } });
    expect(thoughtSignatureOfToolCallId(call?.id ?? "")).toBe(body.candidates[0].content.parts[0].thoughtSignature);
    expect(choice?.message.reasoningSignature).toBeUndefined();
    expect(c.usage).toEqual({ promptTokens: 81, completionTokens: 199, totalTokens: 280, cachedTokens: 0, reasoningTokens: 179 });
  });

  it("keeps thoughts as reasoning and a text part's signature as the reasoning signature", () => {
    const c = decodeGeminiResponse(recordedResponse("gemini-stream-thinking.txt"), "gemini-2.5-flash");
    expect(c.choices[0]?.message).toEqual({
      content: "Yes, 97 is prime.",
      refusal: null,
      toolCalls: [],
      reasoning: "**Checking divisors**\n\nI only need primes up to 9: 2, 3, 5, 7. None of them divides 97.",
      reasoningSignature: "CiQBVKhc7mVR0ppWorGqvP5ZTbs1m3HX74l+NLAID7CdB3kyxhYKWQFUqFzu2bl8nfb2u6URjARa4+hxlIOSE861h6Wm",
    });
  });

  it("gives parallel calls distinct ids and keeps them in order", () => {
    const c = decodeGeminiResponse(
      functionCallResponse([
        { name: "get_weather", args: { city: "Paris" }, thoughtSignature: "U0lH" },
        { name: "get_weather", args: { city: "Rome" } },
      ]),
      "gemini-2.5-flash",
    );
    const calls = c.choices[0]?.message.toolCalls ?? [];
    expect(calls.map((t) => t.function.arguments)).toEqual(['{"city":"Paris"}', '{"city":"Rome"}']);
    expect(calls[0]?.id).not.toBe(calls[1]?.id);
    expect(thoughtSignatureOfToolCallId(calls[0]?.id ?? "")).toBe("U0lH");
  });

  it("keeps Gemini's own function call id inside the tool call id", () => {
    const body = { candidates: [{ content: { parts: [{ functionCall: { id: "fc_42", name: "f", args: {} }, thoughtSignature: "U0lH" }] }, finishReason: "STOP" }] };
    const call = decodeGeminiResponse(body, "m").choices[0]?.message.toolCalls[0];
    expect(readGeminiToolCallId(call?.id ?? "")).toEqual({ upstreamId: "fc_42", signature: "U0lH" });
    expect(call?.function).toEqual({ name: "f", arguments: "{}" });
  });

  it("maps several candidates to choices by their index", () => {
    const body = {
      candidates: [
        { content: { parts: [{ text: "B" }] }, finishReason: "MAX_TOKENS", index: 1 },
        { content: { parts: [{ text: "A" }] }, finishReason: "STOP", index: 0 },
      ],
    };
    const c = decodeGeminiResponse(body, "gemini-2.0-flash");
    expect(c.choices.map((ch) => [ch.index, ch.message.content, ch.finishReason.unified])).toEqual([
      [1, "B", "length"],
      [0, "A", "stop"],
    ]);
    expect(c.model).toBe("gemini-2.0-flash");
    expect(c.id).toMatch(/^chatcmpl-/);
    expect(c.usage).toBeUndefined();
  });

  it("answers a blocked prompt with one empty choice finished by content_filter", () => {
    const c = decodeGeminiResponse({ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } }, "m");
    expect(c.choices).toEqual([{ index: 0, message: { content: null, refusal: null, toolCalls: [] }, finishReason: { unified: "content_filter", raw: "SAFETY" } }]);
  });

  it("reports a candidate cut by a safety filter, without content, as content_filter", () => {
    const c = decodeGeminiResponse({ candidates: [{ finishReason: "SAFETY", index: 0, safetyRatings: [] }] }, "m");
    expect(c.choices[0]).toMatchObject({ message: { content: null }, finishReason: { unified: "content_filter", raw: "SAFETY" } });
  });

  it("rejects a body without candidates or block reason as malformed", () => {
    expect(() => decodeGeminiResponse({ usageMetadata: {} }, "m")).toThrowError(expect.objectContaining({ kind: "upstream_error" }));
    expect(() => decodeGeminiResponse("nope", "m")).toThrowError(expect.objectContaining({ kind: "upstream_error" }));
  });
});

describe("Gemini usage", () => {
  it("adds thoughts to completion tokens and reports cached and reasoning tokens", () => {
    expect(
      mapGeminiUsage({ promptTokenCount: 435, cachedContentTokenCount: 400, candidatesTokenCount: 6, thoughtsTokenCount: 102, totalTokenCount: 543 }),
    ).toEqual({ promptTokens: 435, completionTokens: 108, totalTokens: 543, cachedTokens: 400, reasoningTokens: 102 });
  });

  it("sums the total when Gemini gives none, and is undefined without usage metadata", () => {
    expect(mapGeminiUsage({ promptTokenCount: 5, candidatesTokenCount: 2 })).toMatchObject({ totalTokens: 7 });
    expect(mapGeminiUsage(undefined)).toBeUndefined();
  });
});

describe("Gemini finish reasons", () => {
  it.each([
    ["STOP", false, "stop"],
    [undefined, false, "stop"],
    ["FINISH_REASON_UNSPECIFIED", false, "stop"],
    ["MAX_TOKENS", false, "length"],
    ["STOP", true, "tool_calls"],
    ["MAX_TOKENS", true, "tool_calls"],
    ["SAFETY", false, "content_filter"],
    ["SAFETY", true, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["LANGUAGE", false, "content_filter"],
    ["BLOCKLIST", false, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["SPII", false, "content_filter"],
    ["IMAGE_SAFETY", false, "content_filter"],
    ["OTHER", false, "content_filter"],
    ["MALFORMED_FUNCTION_CALL", false, "stop"],
    ["UNEXPECTED_TOOL_CALL", false, "stop"],
    ["TOO_MANY_TOOL_CALLS", false, "stop"],
    ["SOMETHING_NEW", false, "other"],
  ] as const)("maps %s (function call made: %s) to %s", (raw, call, unified) => {
    expect(mapGeminiFinishReason(raw, call)).toEqual({ unified, raw: raw ?? "STOP" });
  });
});
