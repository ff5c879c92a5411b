import { describe, expect, it } from "vitest";
import type { ChatEvent } from "../../src/chat/chat-types.ts";
import { GatewayError } from "../../src/errors/gateway-error.ts";
import { createChunkFormatter, DONE_FRAME } from "../../src/http/openai-wire.ts";
import { createOpenAIStreamDecoder } from "../../src/providers/openai/openai-stream-decoder.ts";
import { chunked, fixtureBody } from "../support/fixtures.ts";

function decode(text: string, size = 37): ChatEvent[] {
  const d = createOpenAIStreamDecoder();
  const out: ChatEvent[] = [];
  for (const c of chunked(text, size)) out.push(...d.push(c));
  out.push(...d.finish());
  return out;
}

describe("OpenAI stream decoder", () => {
  it("decodes a recorded text stream with usage into start, deltas, finish and usage", () => {
    const events = decode(fixtureBody("openai-stream-text-with-usage.txt"));
    expect(events[0]).toMatchObject({ type: "start", model: "gpt-4o-2024-08-06" });
    const text = events.flatMap((e) => (e.type === "delta" && e.content ? [e.content] : [])).join("");
    expect(text.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === "finish")).toEqual([{ type: "finish", index: 0, reason: { unified: "stop", raw: "stop" } }]);
    expect(events.at(-1)?.type).toBe("usage");
  });

  it("keeps parallel tool calls apart by index, with id and name on each call's first fragment", () => {
    const events = decode(fixtureBody("openai-stream-parallel-tool-calls.txt"));
    const calls = new Map<number, { id?: string; name?: string; args: string }>();
    for (const e of events) {
      if (e.type !== "delta" || !e.toolCalls) continue;
      for (const t of e.toolCalls) {
        const c = calls.get(t.index) ?? { args: "" };
        if (t.id) c.id = t.id;
        if (t.name) c.name = t.name;
        c.args += t.arguments ?? "";
        calls.set(t.index, c);
      }
    }
    expect([...calls.keys()]).toEqual([0, 1]);
    expect(calls.get(0)?.name).toBe("GetWeatherArgs");
    for (const c of calls.values()) expect(() => JSON.parse(c.args)).not.toThrow();
    expect(events.find((e) => e.type === "finish")).toMatchObject({ reason: { unified: "tool_calls" } });
  });

  it("decodes n=3 interleaved choices with one finish each and one usage", () => {
    const events = decode(fixtureBody("openai-stream-n3.txt"), 101);
    expect(events.filter((e) => e.type === "finish").map((e) => (e as { index: number }).index).sort()).toEqual([0, 1, 2]);
    expect(events.filter((e) => e.type === "usage")).toHaveLength(1);
  });

  it("reports a length stop as finish reason length", () => {
    const events = decode(fixtureBody("openai-stream-length.txt"));
    expect(events.find((e) => e.type === "finish")).toMatchObject({ reason: { unified: "length" } });
  });

  it("treats a stream cut before its finish chunk as truncated", () => {
    const body = fixtureBody("openai-stream-text-with-usage.txt");
    const cut = body.slice(0, body.indexOf('"finish_reason":"stop"'));
    const d = createOpenAIStreamDecoder();
    d.push(cut.slice(0, cut.lastIndexOf("\n\n") + 2));
    expect(() => d.finish()).toThrowError(GatewayError);
  });

  it("treats a stream that ends after its finish chunk but without [DONE] as complete", () => {
    const body = fixtureBody("openai-stream-length.txt").replace("data: [DONE]\n\n", "");
    expect(decode(body).some((e) => e.type === "finish")).toBe(true);
  });

  it("tolerates a null error field on an ordinary chunk", () => {
    const body = fixtureBody("openai-stream-length.txt").replace('"object":"chat.completion.chunk"', '"object":"chat.completion.chunk","error":null');
    expect(decode(body).some((e) => e.type === "finish")).toBe(true);
  });

  it("reports [DONE] so that the rest of the body need not be read", () => {
    const d = createOpenAIStreamDecoder();
    d.push(fixtureBody("openai-stream-length.txt"));
    expect(d.done).toBe(true);
  });

  it("turns an in-band error event into a GatewayError with the upstream message, after the events decoded before it", () => {
    const d = createOpenAIStreamDecoder();
    const before = 'data: {"id":"c","model":"m","created":1,"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n';
    const events = d.push(`${before}data: {"error":{"message":"overloaded","type":"server_error"}}\n\n`);
    expect(events.map((e) => e.type)).toEqual(["start", "delta"]);
    expect(d.failed).toBe(true);
    expect(() => d.finish()).toThrowError(/overloaded/);
    expect(() => d.push("data: {}\n\n")).toThrowError(/overloaded/);
  });

  it("re-encodes a recorded stream into frames a client parses back to the same events", () => {
    const events = decode(fixtureBody("openai-stream-parallel-tool-calls.txt"));
    const formatter = createChunkFormatter(true);
    const wire = events.map((e) => formatter.format(e)).join("") + DONE_FRAME;
    const again = decode(wire);
    expect(again.map((e) => (e.type === "start" ? { ...e, created: 0 } : e))).toEqual(
      events.map((e) => (e.type === "start" ? { ...e, created: 0 } : e)),
    );
  });
});
