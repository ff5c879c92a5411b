/** Splits a byte or text stream into lines. */
export interface LineSplitter {
  /** Feeds a chunk; hands each line it completes to the splitter's `onLine`. */
  push(chunk: Uint8Array | string): void;
  /** Ends the input; hands over a last line left without its end, if any. */
  finish(): void;
}

/**
 * Creates a splitter at LF, CRLF or CR line ends (a CRLF split across chunks
 * included), decoding UTF-8 split across chunks. `onLine` gets each line
 * without its end. Pure: no I/O.
 */
export function createLineSplitter(onLine: (line: string) => void): LineSplitter {
  const utf8 = new TextDecoder();
  let buffer = "";
  let pendingCR = false;

  function drain(): void {
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
        onLine(buffer.slice(start, i));
        pendingCR = c === 13;
        start = i + 1;
      }
    }
    buffer = buffer.slice(start);
  }

  return {
    push(chunk) {
      buffer += typeof chunk === "string" ? chunk : utf8.decode(chunk, { stream: true });
      drain();
    },
    finish() {
      buffer += utf8.decode();
      drain();
      if (buffer !== "") onLine(buffer);
      buffer = "";
    },
  };
}
