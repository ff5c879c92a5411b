import { describe, expect, it } from "vitest";
import { createLineSplitter } from "../../src/sse/line-splitter.ts";
import { createSseDecoder } from "../../src/sse/sse-decoder.ts";

describe("SSE decoder", () => {
  it("decodes events split at every possible byte boundary", () => {
    const text = "event: ping\ndata: a\n\ndata: {\"x\":1}\n\n: comment\ndata: line1\ndata: line2\n\n";
    for (let size = 1; size <= text.length; size++) {
      const d = createSseDecoder();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...d.push(new TextEncoder().encode(text.slice(i, i + size))));
      events.push(...d.finish());
      expect(events).toEqual([
        { event: "ping", data: "a" },
        { event: "message", data: '{"x":1}' },
        { event: "message", data: "line1\nline2" },
      ]);
    }
  });

  it("accepts CRLF and CR line ends, even when a CRLF is split across chunks", () => {
    const d = createSseDecoder();
    const events = [...d.push("data: a\r"), ...d.push("\n\r\ndata: b\r\r"), ...d.finish()];
    expect(events).toEqual([
      { event: "message", data: "a" },
      { event: "message", data: "b" },
    ]);
  });

  it("keeps multi-byte UTF-8 characters that are split across chunks", () => {
    const bytes = new TextEncoder().encode("data: héllo ✓\n\n");
    const d = createSseDecoder();
    const events = [];
    for (const b of bytes) events.push(...d.push(new Uint8Array([b])));
    expect(events).toEqual([{ event: "message", data: "héllo ✓" }]);
  });

  it("flushes a last event that lacks its blank line", () => {
    const d = createSseDecoder();
    expect(d.push("data: tail")).toEqual([]);
    expect(d.finish()).toEqual([{ event: "message", data: "tail" }]);
  });

  it("takes lines its caller split itself, as the Gemini decoder does", () => {
    const d = createSseDecoder();
    expect(d.pushLine("event: x")).toEqual([]);
    expect(d.pushLine("data: 1")).toEqual([]);
    expect(d.pushLine("")).toEqual([{ event: "x", data: "1" }]);
  });
});

describe("line splitter", () => {
  it("splits at LF, CRLF and CR, a CRLF and a UTF-8 character split across chunks included", () => {
    const lines: string[] = [];
    const s = createLineSplitter((l) => lines.push(l));
    const euro = Buffer.from("€");
    s.push("a\r");
    s.push("\nb\rc\n");
    s.push(euro.subarray(0, 1));
    s.push(Buffer.concat([euro.subarray(1), Buffer.from("\nlast")]));
    s.finish();
    expect(lines).toEqual(["a", "b", "c", "€", "last"]);
  });
});
