import type { ChatMessage } from "../chat/chat-types.ts";

/** Counts tokens of text the gateway saw, for upstreams that report no usage. */
export interface TokenCounter {
  /** Tokens of a prompt: message text, names and tool call arguments, plus OpenAI's per-message overhead. */
  countPrompt(messages: readonly ChatMessage[]): Promise<number>;
  /** Tokens of generated text. */
  countText(text: string): Promise<number>;
  /** Starts loading the encoding in the background, so the first count does not wait for it. */
  warm(): void;
}

type Encode = (text: string) => number;

/**
 * Creates a counter with OpenAI's o200k_base encoding (js-tiktoken, loaded on
 * first use). Other providers' tokenizers differ by a few percent; records
 * counted this way say so (`tokens_estimated`).
 */
export function createTokenCounter(): TokenCounter {
  let encode: Promise<Encode> | undefined;
  const load = () =>
    (encode ??= Promise.all([import("js-tiktoken/lite"), import("js-tiktoken/ranks/o200k_base")]).then(([{ Tiktoken }, ranks]) => {
      const enc = new Tiktoken(ranks.default);
      // Special tokens ("<|endoftext|>") in prompts or output are counted as the plain text they are.
      return (text: string) => (text === "" ? 0 : enc.encode(text, [], []).length);
    }));
  return {
    warm: () => void load(),
    async countPrompt(messages) {
      const count = await load();
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
    },
    async countText(text) {
      return (await load())(text);
    },
  };
}
