import { afterAll, describe, expect, it } from "vitest";
import { createTokenCounter } from "../../src/usage/token-counter.ts";

describe("token counter (o200k_base, on its own thread)", () => {
  const counter = createTokenCounter();
  afterAll(() => counter.close());

  it("counts text and prompts as OpenAI does, with the per-message overhead", async () => {
    expect(await counter.countText("")).toBe(0);
    expect(await counter.countText("Hello there, how are you?")).toBe(7);
    // 3 for the reply's priming, 4 per message, then the content's tokens.
    expect(await counter.countPrompt([{ role: "user", content: "Hi" }])).toBe(3 + 4 + 1);
  });

  it("counts special tokens in text as the plain text they are", async () => {
    expect(await counter.countText("<|endoftext|>")).toBeGreaterThan(1);
  });

  it("answers concurrent counts each with its own result", async () => {
    const texts = ["a", "a b", "a b c", "a b c d"];
    expect(await Promise.all(texts.map((t) => counter.countText(t)))).toEqual([1, 2, 3, 4]);
  });

  it("starts again after close", async () => {
    await counter.close();
    expect(await counter.countText("Hello")).toBe(1);
  });
});
