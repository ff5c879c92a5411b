import { createLineSplitter } from "./line-splitter.ts";

/** One server-sent event. `event` is "message" when the stream named none. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Incremental decoder of a `text/event-stream` body. */
export interface SseDecoder {
  /** Feeds bytes; returns the events they complete. */
  push(chunk: Uint8Array | string): SseEvent[];
  /** Feeds one line the caller split itself (without its end); returns the event it completes, if any. */
  pushLine(line: string): SseEvent[];
  /** Ends the input; returns an event left without its blank line, if any. */
  finish(): SseEvent[];
}

/**
 * Creates a decoder for the SSE wire format (WHATWG HTML, "Parsing an event
 * stream"): LF, CRLF or CR line ends, multi-line `data`, comments, and UTF-8
 * split across chunks. Pure: no I/O.
 */
export function createSseDecoder(): SseDecoder {
  let event = "";
  let data: string[] = [];
  /** Events completed by the input being processed. */
  let out: SseEvent[] = [];

  function dispatch(): void {
    if (data.length > 0) out.push({ event: event || "message", data: data.join("\n") });
    event = "";
    data = [];
  }

  function line(text: string): void {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  }

  const lines = createLineSplitter(line);
  /** Runs `step` and returns the events it completed. */
  function collect(step: () => void): SseEvent[] {
    out = [];
    step();
    const done = out;
    out = [];
    return done;
  }

  return {
    push: (chunk) => collect(() => lines.push(chunk)),
    pushLine: (text) => collect(() => line(text)),
    finish: () =>
      collect(() => {
        lines.finish();
        dispatch();
      }),
  };
}
