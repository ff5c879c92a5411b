import { describe, expect, it } from "vitest";
import type { ChatEvent, ToolCallDelta } from "../../src/chat/chat-types.ts";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import { createAnthropicStreamDecoder } from "../../src/providers/anthropic/anthropic-stream-decoder.ts";
import { PACKED_SIGNATURE_PREFIX } from "../../src/providers/anthropic/anthropic-thinking.ts";
import { chunked, fixtureBody } from "../support/fixtures.ts";

/** The SSE body of a fixture: recordings that also hold a request and error answers keep their stream after the last `## RESPONSE` line. */
function streamOf(name: string): string {
  const body = fixtureBody(name);
  const at = body.lastIndexOf("## RESPONSE");
  return at < 0 ? body : body.slice(body.indexOf("\n", at) + 1);
}

function decode(text: string, size = 23): ChatEvent[] {
  const d = createAnthropicStreamDecoder(() => 1_700_000_000_000);
  const out: ChatEvent[] = [];
  for (const c of chunked(text, size)) out.push(...d.push(c));
  out.push(...d.finish());
  return out;
}

function failure(text: string, size = 17): { events: ChatEvent[]; error: GatewayError } {
  const d = createAnthropicStreamDecoder();
  const events: ChatEvent[] = [];
  try {
    for (const c of chunked(text, size)) events.push(...d.push(c));
    events.push(...d.finish());
  } catch (err) {
    if (err instanceof GatewayError) return { events, error: err };
    throw err;
  }
  throw new Error("expected the decoder to throw");
}

const deltas = (events: ChatEvent[]) => events.filter((e): e is Extract<ChatEvent, { type: "delta" }> => e.type === "delta");
const content = (events: ChatEvent[]) => deltas(events).map((e) => e.content ?? "").join("");
const reasoning = (events: ChatEvent[]) => deltas(events).map((e) => e.reasoning ?? "").join("");

/** Tool calls assembled as an OpenAI client does, checking the first fragment of each carries id, name and empty arguments. */
function toolCalls(events: ChatEvent[]) {
  const calls = new Map<number, { id: string; name: string; args: string }>();
  for (const t of deltas(events).flatMap((e) => e.toolCalls ?? []) as ToolCallDelta[]) {
    const known = calls.get(t.index);
    if (!known) {
      expect(t).toEqual({ index: t.index, id: expect.any(String), name: expect.any(String), arguments: "" });
      calls.set(t.index, { id: t.id as string, name: t.name as string, args: "" });
    } else {
      expect(t.id).toBeUndefined();
      known.args += t.arguments ?? "";
    }
  }
  return [...calls.entries()].map(([index, c]) => ({ index, ...c }));
}

describe("Anthropic stream decoder", () => {
  it("decodes a recorded text stream (padded JSON, ping, cumulative usage) into start, role, text, finish and usage", () => {
    const events = decode(streamOf("anthropic-stream-text-after-429.txt"));
    expect(events[0]).toEqual({ type: "start", id: "msg_013nnniYDrJDocdy5nrMU7cH", model: "claude-sonnet-4-5-20250929", created: 1_700_000_000 });
    expect(events[1]).toEqual({ type: "delta", index: 0, role: "assistant" });
    expect(content(events)).toBe("[12345,67890]");
    expect(events.at(-2)).toEqual({ type: "finish", index: 0, reason: { unified: "stop", raw: "end_turn" } });
    expect(events.at(-1)).toEqual({ type: "usage", usage: { promptTokens: 135, completionTokens: 10, totalTokens: 145, cachedTokens: 0, reasoningTokens: 0 } });
  });

  it("decodes a recorded tool_use stream with the call at index 0 and its arguments reassembled", () => {
    const events = decode(streamOf("anthropic-stream-tool-use.txt"), 7);
    expect(toolCalls(events)).toEqual([{ index: 0, id: "toolu_018acGYLtfR52q9yDbWaEdQZ", name: "get_weather", args: '{"location": "San Francisco, CA", "units": "f"}' }]);
    expect(events.find((e) => e.type === "finish")).toMatchObject({ reason: { unified: "tool_calls", raw: "tool_use" } });
    expect(events.at(-1)).toMatchObject({ type: "usage", usage: { promptTokens: 656, completionTokens: 74 } });
  });

  it("numbers a tool call after a text block 0, not by its block index 1", () => {
    const events = decode(streamOf("anthropic-stream-text-then-tool-use.txt"));
    expect(content(events)).toBe("I'll check the current weather in Paris for you.");
    expect(toolCalls(events)).toEqual([{ index: 0, id: "toolu_01NRLabsLyVHZPKxbKvkfSMn", name: "get_weather", args: '{"location": "Paris"}' }]);
    expect(events.at(-1)).toMatchObject({ type: "usage", usage: { promptTokens: 377, completionTokens: 65, totalTokens: 442 } });
  });

  it("reports max_tokens in the middle of a tool call as length, with the partial arguments as they came", () => {
    const events = decode(streamOf("anthropic-stream-max-tokens-mid-tool.txt"), 31);
    const [call] = toolCalls(events);
    expect(call?.name).toBe("make_file");
    expect(() => JSON.parse(call?.args ?? "")).toThrow();
    expect(events.find((e) => e.type === "finish")).toMatchObject({ reason: { unified: "length", raw: "max_tokens" } });
  });

  it("reports a refusal as content_filter and counts its thinking tokens as reasoning", () => {
    const events = decode(streamOf("anthropic-stream-refusal.txt"));
    expect(events.find((e) => e.type === "finish")).toMatchObject({ reason: { unified: "content_filter", raw: "refusal" } });
    expect(events.at(-1)).toMatchObject({ type: "usage", usage: { promptTokens: 20, completionTokens: 120, reasoningTokens: 67 } });
  });

  it("streams thinking as reasoning, sends the signature once before finish, and numbers parallel tool calls 0 and 1", () => {
    const events = decode(streamOf("anthropic-stream-thinking-parallel-tools.txt"), 11);
    expect(reasoning(events)).toBe("The user wants the weather in two cities. I can ask for both at once.");
    const signatures = deltas(events).filter((e) => e.reasoningSignature !== undefined);
    expect(signatures).toEqual([{ type: "delta", index: 0, reasoningSignature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds2tO5sQ3ZqzdG5j5Ug==" }]);
    expect(events.indexOf(signatures[0] as ChatEvent)).toBe(events.findIndex((e) => e.type === "finish") - 1);
    expect(content(events)).toBe("Checking both cities.");
    expect(toolCalls(events)).toEqual([
      { index: 0, id: "toolu_01Paris0000000000000000", name: "get_weather", args: '{"city": "Paris"}' },
      { index: 1, id: "toolu_01Tokyo0000000000000000", name: "get_weather", args: '{"city": "Tokyo"}' },
    ]);
    // prompt = input + cache reads + cache writes; cached = cache reads.
    expect(events.at(-1)).toEqual({ type: "usage", usage: { promptTokens: 1140, completionTokens: 91, totalTokens: 1231, cachedTokens: 1000, reasoningTokens: 0 } });
  });

  it("packs a redacted thinking block with the visible one into one signature", () => {
    const events = decode(streamOf("anthropic-stream-redacted-thinking.txt"));
    expect(reasoning(events)).toBe("First, some visible reasoning.");
    const signature = deltas(events).find((e) => e.reasoningSignature)?.reasoningSignature ?? "";
    expect(signature.startsWith(PACKED_SIGNATURE_PREFIX)).toBe(true);
    expect(JSON.parse(Buffer.from(signature.slice(PACKED_SIGNATURE_PREFIX.length), "base64url").toString())).toEqual([
      { type: "thinking", thinking: "First, some visible reasoning.", signature: "SigOfBlockZero==" },
      { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP" },
    ]);
  });

  it("throws the mapped error for an in-band error event after the text so far", () => {
    const { events, error } = failure(streamOf("anthropic-stream-error-overloaded.txt"));
    expect(content(events)).toBe("Partial answer");
    expect(error).toMatchObject({ kind: "upstream_error", status: 503, openaiCode: "overloaded_error", message: "Overloaded" });
  });

  it("treats a stream that ends without message_stop as truncated, even after message_delta", () => {
    const body = streamOf("anthropic-stream-text-then-tool-use.txt");
    for (const cut of [body.indexOf("event: content_block_stop"), body.indexOf("event: message_stop")]) {
      const { error } = failure(body.slice(0, cut));
      expect(error).toMatchObject({ kind: "upstream_unavailable", status: 502 });
      expect(error.message).toContain("ended before the answer was complete");
    }
  });

  it("refuses malformed data and content before message_start", () => {
    expect(failure("event: message_start\ndata: {not json\n\n").error.kind).toBe("upstream_error");
    expect(failure('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}\n\n').error.kind).toBe("upstream_error");
  });

  it("ignores events it does not know, as the SDKs do", () => {
    const body = streamOf("anthropic-stream-text-after-429.txt").replace("event: ping", 'event: brand_new\ndata: {"type":"brand_new","x":1}\n\nevent: ping');
    expect(content(decode(body))).toBe("[12345,67890]");
  });

  it("gives a streamed tool call without arguments \"{}\", as the unary answer has it", () => {
    const frames = [
      ["message_start", { type: "message_start", message: { id: "msg_1", model: "claude-x", usage: { input_tokens: 5, output_tokens: 0 } } }],
      ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "now", input: {} } }],
      ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "" } }],
      ["content_block_stop", { type: "content_block_stop", index: 0 }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 3 } }],
      ["message_stop", { type: "message_stop" }],
    ] as const;
    const events = decode(frames.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join(""));
    const args = events.flatMap((e) => (e.type === "delta" ? (e.toolCalls ?? []) : [])).map((t) => t.arguments ?? "").join("");
    expect(args).toBe("{}");
  });
});
