import { Worker } from "node:worker_threads";
import type { ChatMessage } from "../chat/chat-types.ts";
import type { CountAnswer, CountRequest } from "./token-counter-worker.ts";

/** Counts tokens of text the gateway saw, for upstreams that report no usage. */
export interface TokenCounter {
  /** Tokens of a prompt: message text, names and tool call arguments, plus OpenAI's per-message overhead. */
  countPrompt(messages: readonly ChatMessage[]): Promise<number>;
  /** Tokens of generated text. */
  countText(text: string): Promise<number>;
  /** Starts the counting thread now, so that the first count does not wait for the encoding to load. */
  warm(): void;
  /** Stops the counting thread. */
  close(): Promise<void>;
}

/** Longest wait for one count (the first includes loading the encoding, under a second). */
const COUNT_TIMEOUT_MS = 5_000;

/**
 * Creates a counter with OpenAI's o200k_base encoding (js-tiktoken), which
 * runs on a thread of its own, started on first use (or `warm`): the
 * encoding's tables stay off the heap of the thread that serves requests.
 * Other providers' tokenizers differ by a few percent; records counted this
 * way say so (`tokens_estimated`).
 * @throws from a count if the thread fails.
 */
export function createTokenCounter(): TokenCounter {
  interface Thread {
    readonly worker: Worker;
    readonly pending: Map<number, { resolve(n: number): void; reject(e: Error): void }>;
  }
  let current: Thread | undefined;
  let nextId = 0;

  function fail(t: Thread, err: Error): void {
    for (const p of t.pending.values()) p.reject(err);
    t.pending.clear();
    if (current === t) current = undefined;
  }

  function thread(): Thread {
    if (current) return current;
    const t: Thread = { worker: new Worker(new URL("./token-counter-worker.ts", import.meta.url)), pending: new Map() };
    t.worker.unref();
    t.worker.on("message", (a: CountAnswer) => {
      const p = t.pending.get(a.id);
      t.pending.delete(a.id);
      if ("error" in a) p?.reject(new Error(a.error));
      else p?.resolve(a.tokens);
      if (t.pending.size === 0) t.worker.unref();
    });
    t.worker.on("error", (err) => fail(t, err));
    t.worker.on("exit", () => fail(t, new Error("the token counter stopped")));
    current = t;
    return t;
  }

  function ask(req: { kind: "prompt"; messages: readonly ChatMessage[] } | { kind: "text"; text: string }): Promise<number> {
    const t = thread();
    const id = nextId++;
    // Keep the process alive while an answer is owed.
    t.worker.ref();
    return new Promise((resolve, reject) => {
      // A count that takes too long is given up (the caller falls back to an estimate by size).
      const timer = setTimeout(() => {
        t.pending.delete(id);
        if (t.pending.size === 0) t.worker.unref();
        reject(new Error("token count timed out"));
      }, COUNT_TIMEOUT_MS);
      t.pending.set(id, {
        resolve: (n) => (clearTimeout(timer), resolve(n)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      t.worker.postMessage({ ...req, id } satisfies CountRequest);
    });
  }

  return {
    warm: () => void thread(),
    countPrompt: (messages) => ask({ kind: "prompt", messages }),
    countText: (text) => ask({ kind: "text", text }),
    async close() {
      const t = current;
      current = undefined;
      await t?.worker.terminate();
    },
  };
}
