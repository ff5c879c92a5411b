/** One server-sent event. `event` is "message" when the stream named none. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Incremental decoder of a `text/event-stream` body. */
export interface SseDecoder {
  /** Feeds bytes; returns the events they complete. */
  push(chunk: Uint8Array | string): SseEvent[];
  /** Ends the input; returns an event left without its blank line, if any. */
  finish(): SseEvent[];
}

/**
 * Creates a decoder for the SSE wire format (WHATWG HTML, "Parsing an event
 * stream"): LF, CRLF or CR line ends, multi-line `data`, comments, and UTF-8
 * split across chunks. Pure: no I/O.
 */
export function createSseDecoder(): SseDecoder {
  const utf8 = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let pendingCR = false;

  function dispatch(out: SseEvent[]): void {
    if (data.length > 0) out.push({ event: event || "message", data: data.join("\n") });
    event = "";
    data = [];
  }

  function line(text: string, out: SseEvent[]): void {
    if (text === "") return dispatch(out);
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  }

  function drain(out: SseEvent[]): void {
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c === 10 && pendingCR) {
        // The LF of a CRLF whose CR ended the previous line.
        pendingCR = false;
        start = i + 1;
        continue;
      }
      pendingCR = false;
      if (c === 10 || c === 13) {
        line(buffer.slice(start, i), out);
        pendingCR = c === 13;
        start = i + 1;
      }
    }
    buffer = buffer.slice(start);
  }

  return {
    push(chunk) {
      buffer += typeof chunk === "string" ? chunk : utf8.decode(chunk, { stream: true });
      const out: SseEvent[] = [];
      drain(out);
      return out;
    },
    finish() {
      buffer += utf8.decode();
      const out: SseEvent[] = [];
      drain(out);
      if (buffer !== "") line(buffer, out);
      buffer = "";
      dispatch(out);
      return out;
    },
  };
}
