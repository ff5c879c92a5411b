/**
 * The token counter's thread. It holds OpenAI's o200k_base encoding
 * (js-tiktoken): about 70 MB of heap, which on the thread that serves
 * requests would make every full garbage collection take tens of
 * milliseconds. Answers each count request with its count.
 */
import { parentPort } from "node:worker_threads";
import { Tiktoken } from "js-tiktoken/lite";
import ranks from "js-tiktoken/ranks/o200k_base";
import type { ChatMessage } from "../chat/chat-types.ts";

/** A count request from the main thread. */
export type CountRequest = { id: number } & ({ kind: "prompt"; messages: readonly ChatMessage[] } | { kind: "text"; text: string });

/** The answer: the count, or why there is none. */
export type CountAnswer = { id: number; tokens: number } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error("token-counter-worker runs only as a worker thread");
const enc = new Tiktoken(ranks);
/**
 * Longer runs without whitespace (base64, minified code, repeated letters)
 * are estimated at 4 characters a token: BPE's time grows with the square of
 * a word's length, so one long word could hold the counter for seconds.
 */
const MAX_RUN = 64;
const LONG_RUN = new RegExp(`(\\S{${MAX_RUN + 1},})`);
/** Text beyond this many characters per count is estimated at 4 characters a token. */
const MAX_CHARS = 1_000_000;

// Special tokens ("<|endoftext|>") in prompts or output are counted as the plain text they are.
const encode = (text: string) => (text === "" ? 0 : enc.encode(text, [], []).length);

/** Tokens of `text`, in time linear in its length. */
function count(text: string): number {
  let extra = 0;
  if (text.length > MAX_CHARS) {
    extra = Math.ceil((text.length - MAX_CHARS) / 4);
    text = text.slice(0, MAX_CHARS);
  }
  if (!LONG_RUN.test(text)) return encode(text) + extra;
  let total = extra;
  text.split(LONG_RUN).forEach((piece, i) => {
    total += i % 2 === 0 ? encode(piece) : Math.ceil(piece.length / 4);
  });
  return total;
}

/** Tokens of a prompt: message text, names and tool call arguments, plus OpenAI's per-message overhead. */
function countPrompt(messages: readonly ChatMessage[]): number {
  let total = 3;
  for (const m of messages) {
    total += 4;
    if (typeof m.content === "string") total += count(m.content);
    else if (Array.isArray(m.content)) {
      for (const part of m.content) if (part.type === "text" && typeof part.text === "string") total += count(part.text);
    }
    if (m.name) total += count(m.name);
    for (const call of m.tool_calls ?? []) total += count(call.function.name) + count(call.function.arguments);
  }
  return total;
}

port.on("message", (req: CountRequest) => {
  try {
    port.postMessage({ id: req.id, tokens: req.kind === "prompt" ? countPrompt(req.messages) : count(req.text) } satisfies CountAnswer);
  } catch (err) {
    port.postMessage({ id: req.id, error: (err as Error).message } satisfies CountAnswer);
  }
});
