import { describe, expect, it } from "vitest";
import type { ChatEvent } from "../../src/chat/chat-types.ts";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import { createChunkFormatter, DONE_FRAME } from "../../src/http/openai-wire.ts";
import { createOpenAIStreamDecoder } from "../../src/providers/openai/openai-stream-decoder.ts";
import { createGeminiStreamDecoder } from "../../src/providers/gemini/gemini-stream-decoder.ts";
import { thoughtSignatureOfToolCallId } from "../../src/providers/gemini/gemini-tool-call-id.ts";
import { chunked, fixtureBody } from "../support/fixtures.ts";
import { fixtureResponse } from "../support/fake-gemini.ts";

function decode(text: string, size = 7): ChatEvent[] {
  const d = createGeminiStreamDecoder({ model: "requested-model" });
  const out: ChatEvent[] = [];
  for (const c of chunked(text, size)) out.push(...d.push(c));
  out.push(...d.finish());
  return out;
}

function decodeBytes(text: string, size = 5): ChatEvent[] {
  const bytes = new TextEncoder().encode(text);
  const d = createGeminiStreamDecoder({ model: "requested-model" });
  const out: ChatEvent[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...d.push(bytes.subarray(i, i + size)));
  out.push(...d.finish());
  return out;
}

const deltas = (events: ChatEvent[], index = 0) => events.filter((e): e is Extract<ChatEvent, { type: "delta" }> => e.type === "delta" && e.index === index);
const text = (events: ChatEvent[], index = 0) => deltas(events, index).map((e) => e.content ?? "").join("");

describe("Gemini stream decoder", () => {
  it("decodes the recorded text stream, fed in small pieces, into start, role, content, a stop finish and the last chunk's usage", () => {
    const events = decode(fixtureResponse("gemini-stream-text.txt"));
    expect(events[0]).toMatchObject({ type: "start", id: "pdSfaOurIPqAm9IPucqbqA4", model: "gemini-2.0-flash" });
    expect(events[1]).toMatchObject({ type: "delta", index: 0, role: "assistant", content: "The" });
    expect(text(events)).toMatch(/^The sky is blue due to a phenomenon called \*\*Rayleigh scattering\*\*\..*hazy appearance\.$/s);
    expect(events.filter((e) => e.type === "finish")).toEqual([{ type: "finish", index: 0, reason: { unified: "stop", raw: "STOP" } }]);
    // Intermediate chunks said 7 prompt tokens; the last one, which counts, says 6.
    expect(events.at(-1)).toEqual({ type: "usage", usage: { promptTokens: 6, completionTokens: 377, totalTokens: 383, cachedTokens: 0, reasoningTokens: 0 } });
  });

  it("decodes the same stream alike from bytes split inside UTF-8 sequences and CRLF pairs", () => {
    const wire = fixtureResponse("gemini-stream-text.txt");
    expect(decodeBytes(wire, 3).map((e) => (e.type === "start" ? { ...e, created: 0 } : e))).toEqual(
      decode(wire, 1000).map((e) => (e.type === "start" ? { ...e, created: 0 } : e)),
    );
  });

  it("accepts LF and CR event framing as well as Gemini's CRLF", () => {
    const crlf = fixtureResponse("gemini-stream-max-tokens.txt");
    for (const wire of [crlf.replaceAll("\r\n", "\n"), crlf.replaceAll("\r\n", "\r")]) {
      expect(text(decode(wire))).toBe("The sky is blue because of a phenomenon called **Rayleigh scattering**. Here's a breakdown:");
    }
  });

  it("reports the recorded MAX_TOKENS stop as finish reason length", () => {
    const events = decode(fixtureResponse("gemini-stream-max-tokens.txt"));
    expect(events.find((e) => e.type === "finish")).toEqual({ type: "finish", index: 0, reason: { unified: "length", raw: "MAX_TOKENS" } });
    expect(events.at(-1)).toMatchObject({ type: "usage", usage: { promptTokens: 6, completionTokens: 20, totalTokens: 26 } });
  });

  it("turns the recorded function call into an opening tool call fragment (id carrying the thought signature, name, empty arguments) and then its arguments, finished as tool_calls although Gemini said STOP", () => {
    const events = decode(fixtureResponse("gemini-stream-function-call-thought-signature.txt", 1));
    const calls = deltas(events).flatMap((e) => e.toolCalls ?? []);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ index: 0, name: "customDivide", arguments: "" });
    expect(calls[1]).toEqual({ index: 0, arguments: '{"denominator":2,"numerator":10}' });
    expect(calls[0]?.id).toMatch(/^call_[A-Za-z0-9]{16}_s[A-Za-z0-9_-]+$/);
    expect(thoughtSignatureOfToolCallId(calls[0]?.id ?? "")).toMatch(/^CiQBVKhc7gVNlWrmzW9MEk\/bjBDPDpxUEY9TBFuB8vn6CVjiCFgKeAFUqFz.*GeB1$/);
    expect(events.find((e) => e.type === "finish")).toEqual({ type: "finish", index: 0, reason: { unified: "tool_calls", raw: "STOP" } });
    // Thoughts are completion tokens, and reported as reasoning tokens.
    expect(events.at(-1)).toEqual({ type: "usage", usage: { promptTokens: 81, completionTokens: 20 + 179, totalTokens: 280, cachedTokens: 0, reasoningTokens: 179 } });
  });

  it("passes the recorded text part's thought signature on as the reasoning signature", () => {
    const events = decode(fixtureResponse("gemini-stream-function-call-thought-signature.txt", 3));
    expect(text(events)).toBe("The result is 2.");
    expect(deltas(events).find((e) => e.reasoningSignature)?.reasoningSignature).toMatch(/^CiQBVKhc7mVR0ppWorGqvP5Z/);
    expect(events.find((e) => e.type === "finish")).toMatchObject({ reason: { unified: "stop" } });
  });

  it("streams thought parts as reasoning, not content, and counts thoughts and cached tokens in usage", () => {
    const events = decode(fixtureResponse("gemini-stream-thinking.txt"));
    expect(deltas(events).map((e) => e.reasoning ?? "").join("")).toBe("**Checking divisors**\n\nI only need primes up to 9: 2, 3, 5, 7. None of them divides 97.");
    expect(text(events)).toBe("Yes, 97 is prime.");
    expect(deltas(events).filter((e) => e.reasoningSignature !== undefined).map((e) => e.reasoningSignature)).toEqual([
      "CiQBVKhc7mVR0ppWorGqvP5ZTbs1m3HX74l+NLAID7CdB3kyxhYKWQFUqFzu2bl8nfb2u6URjARa4+hxlIOSE861h6Wm",
    ]);
    expect(events.at(-1)).toEqual({ type: "usage", usage: { promptTokens: 8, completionTokens: 48, totalTokens: 56, cachedTokens: 4, reasoningTokens: 41 } });
  });

  it("indexes parallel calls per candidate with an id on each, the first carrying the turn's signature", () => {
    const events = decode(fixtureResponse("gemini-stream-parallel-calls.txt"));
    expect(text(events)).toBe("Let me look both up.");
    const calls = deltas(events)
      .flatMap((e) => e.toolCalls ?? [])
      .filter((c) => c.id !== undefined);
    expect(calls.map((c) => [c.index, c.name, c.arguments])).toEqual([
      [0, "get_weather", ""],
      [1, "get_weather", ""],
    ]);
    const args = deltas(events)
      .flatMap((e) => e.toolCalls ?? [])
      .filter((c) => c.id === undefined);
    expect(args).toEqual([
      { index: 0, arguments: '{"city":"Paris"}' },
      { index: 1, arguments: '{"city":"Rome"}' },
    ]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(thoughtSignatureOfToolCallId(calls[0]?.id ?? "")).toMatch(/^Ci0BVKhc7nIrgrUl8wn5/);
    expect(calls[1]?.id).toMatch(/^call_[A-Za-z0-9]{16}$/);
    expect(events.filter((e) => e.type === "finish")).toEqual([{ type: "finish", index: 0, reason: { unified: "tool_calls", raw: "STOP" } }]);
  });

  it("keeps interleaved candidates apart by index and maps SAFETY to content_filter", () => {
    const events = decode(fixtureResponse("gemini-stream-candidates-and-blocks.txt", 1));
    expect(text(events, 0)).toBe("Roses are red, violets are blue.");
    expect(text(events, 1)).toBe("Violets are blue");
    expect(deltas(events, 1)[0]?.role).toBe("assistant");
    expect(events.filter((e) => e.type === "finish")).toEqual([
      { type: "finish", index: 1, reason: { unified: "content_filter", raw: "SAFETY" } },
      { type: "finish", index: 0, reason: { unified: "stop", raw: "STOP" } },
    ]);
  });

  it("answers a blocked prompt (blockReason, no candidates) with one empty choice finished by content_filter", () => {
    const events = decode(fixtureResponse("gemini-stream-candidates-and-blocks.txt", 2));
    expect(events.map((e) => e.type)).toEqual(["start", "delta", "finish", "usage"]);
    expect(events[2]).toEqual({ type: "finish", index: 0, reason: { unified: "content_filter", raw: "PROHIBITED_CONTENT" } });
  });

  it("throws the mapped error when a bare JSON error object follows data events, even without a line end", () => {
    const wire = fixtureResponse("gemini-stream-mid-stream-error.txt").trimEnd();
    const d = createGeminiStreamDecoder({ model: "m" });
    const out: ChatEvent[] = [];
    let thrown: unknown;
    try {
      for (const c of chunked(wire, 11)) out.push(...d.push(c));
      out.push(...d.finish());
    } catch (err) {
      thrown = err;
    }
    expect(text(out)).toBe("The sky");
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({ kind: "upstream_error", status: 503, message: "The model is overloaded. Please try again later." });
  });

  it("fails on the SDK's recorded bare error chunk and on an error sent as a data event, after the events before it", () => {
    const raw = fixtureBody("gemini-stream-errors-and-raw-framing.txt");
    const literal = /const invalidChunk =\s*'([^']+)'/.exec(raw)?.[1] ?? "";
    expect(literal).toContain('"status": "INTERNAL"');
    const valid = /const validChunk =\s*'([^']+)'/.exec(raw)?.[1]?.replaceAll("\\n", "\n") ?? "";
    const d = createGeminiStreamDecoder({ model: "m" });
    expect(d.push(valid).map((e) => e.type)).toEqual(["start", "delta", "finish"]);
    expect(d.push(literal + "\n")).toEqual([]);
    expect(d.failed).toBe(true);
    expect(() => d.finish()).toThrowError(expect.objectContaining({ kind: "upstream_error", status: 500, message: "Internal error" }));
    const e = createGeminiStreamDecoder({ model: "m" });
    // The events before the error in the same read are kept; the error comes on the next call.
    expect(e.push(`${valid}data: {"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}\r\n\r\n`).map((x) => x.type)).toEqual(["start", "delta", "finish"]);
    expect(() => e.push("")).toThrowError(expect.objectContaining({ kind: "rate_limited", status: 429 }));
  });

  it("treats a stream that closes before any chunk carries a finish reason as truncated", () => {
    const d = createGeminiStreamDecoder({ model: "m" });
    const events = d.push(fixtureResponse("gemini-stream-truncated.txt"));
    expect(text(events)).toBe("The sky is blue");
    expect(() => d.finish()).toThrowError(expect.objectContaining({ kind: "upstream_unavailable" }));
  });

  it("treats an empty body and a body of one unfinished candidate among finished ones as truncated", () => {
    expect(() => createGeminiStreamDecoder({ model: "m" }).finish()).toThrowError(GatewayError);
    const wire = fixtureResponse("gemini-stream-candidates-and-blocks.txt", 1).replace('"finishReason":"SAFETY",', "");
    expect(() => decode(wire)).toThrowError(GatewayError);
  });

  it("rejects an event that is not JSON as a malformed stream", () => {
    expect(() => decode("data: {not json\r\n\r\n")).toThrowError(expect.objectContaining({ kind: "upstream_error" }));
  });

  it("names the answer after the requested model when the upstream sends no modelVersion", () => {
    const events = decode('data: {"candidates":[{"content":{"parts":[{"text":"hi"}]},"finishReason":"STOP"}]}\r\n\r\n');
    expect(events[0]).toMatchObject({ type: "start", model: "requested-model" });
    expect(events.some((e) => e.type === "usage")).toBe(false);
  });

  it("maps streamed logprobs to OpenAI's logprobs shape", () => {
    const chunk = {
      candidates: [
        {
          content: { parts: [{ text: "Hi" }] },
          finishReason: "STOP",
          logprobsResult: {
            topCandidates: [{ candidates: [{ token: "Hi", logProbability: -0.1 }, { token: "Hello", logProbability: -2.5 }] }],
            chosenCandidates: [{ token: "Hi", logProbability: -0.1 }],
          },
        },
      ],
    };
    const events = decode(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    expect(deltas(events)[0]?.logprobs).toEqual({
      content: [
        {
          token: "Hi",
          logprob: -0.1,
          bytes: [72, 105],
          top_logprobs: [
            { token: "Hi", logprob: -0.1, bytes: [72, 105] },
            { token: "Hello", logprob: -2.5, bytes: [72, 101, 108, 108, 111] },
          ],
        },
      ],
      refusal: null,
    });
  });

  it("re-encodes a recorded stream into OpenAI frames that the OpenAI decoder reads back to the same events (finish reasons in OpenAI's words)", () => {
    const events = decode(fixtureResponse("gemini-stream-parallel-calls.txt"));
    const formatter = createChunkFormatter(true);
    const wire = events.map((e) => formatter.format(e)).join("") + DONE_FRAME;
    const openai = createOpenAIStreamDecoder();
    const again = [...openai.push(wire), ...openai.finish()];
    const norm = (es: ChatEvent[]) =>
      es.map((e) => (e.type === "start" ? { type: e.type, id: e.id, model: e.model } : e.type === "finish" ? { ...e, reason: e.reason.unified } : e));
    expect(norm(again)).toEqual(norm(events));
  });
});
