/** A model's price in USD per million tokens. */
export interface ModelPrice {
  /** Model name, or a prefix ending in "*"; matched case-insensitively. */
  readonly model: string;
  readonly input: number;
  readonly output: number;
  /** Price of prompt tokens served from the provider's cache. */
  readonly cachedInput: number;
}

const p = (model: string, input: number, output: number, cachedInput = input): ModelPrice => ({ model, input, output, cachedInput });

/**
 * List prices of common models (USD per million tokens, standard tier), from
 * the providers' public price pages as of 2026. Operators override them per
 * provider and model through the admin API or the config file; the most
 * specific match wins.
 */
export const builtinPrices: readonly ModelPrice[] = [
  // OpenAI — https://openai.com/api/pricing
  p("gpt-5*", 1.25, 10, 0.125),
  p("gpt-5-mini*", 0.25, 2, 0.025),
  p("gpt-5-nano*", 0.05, 0.4, 0.005),
  p("gpt-4.1*", 2, 8, 0.5),
  p("gpt-4.1-mini*", 0.4, 1.6, 0.1),
  p("gpt-4.1-nano*", 0.1, 0.4, 0.025),
  p("gpt-4o*", 2.5, 10, 1.25),
  p("chatgpt-4o*", 5, 15),
  p("gpt-4o-mini*", 0.15, 0.6, 0.075),
  p("gpt-4-turbo*", 10, 30),
  p("gpt-4*", 30, 60),
  p("gpt-3.5-turbo*", 0.5, 1.5),
  p("o1*", 15, 60, 7.5),
  p("o1-mini*", 1.1, 4.4, 0.55),
  p("o3*", 2, 8, 0.5),
  p("o3-mini*", 1.1, 4.4, 0.55),
  p("o4-mini*", 1.1, 4.4, 0.275),
  // Anthropic — https://www.anthropic.com/pricing (cache reads at 10% of input)
  p("claude-3*", 3, 15, 0.3),
  p("claude-3-haiku*", 0.25, 1.25, 0.03),
  p("claude-3-5-haiku*", 0.8, 4, 0.08),
  p("claude-3-opus*", 15, 75, 1.5),
  p("claude-sonnet-4*", 3, 15, 0.3),
  p("claude-haiku-4*", 1, 5, 0.1),
  p("claude-opus-4*", 15, 75, 1.5),
  p("claude-opus-4-5*", 5, 25, 0.5),
  // Google Gemini — https://ai.google.dev/gemini-api/docs/pricing (prompts up to 128k/200k tokens)
  p("gemini-1.5*", 1.25, 5, 0.3125),
  p("gemini-1.5-flash*", 0.075, 0.3, 0.01875),
  p("gemini-2.0-flash*", 0.1, 0.4, 0.025),
  p("gemini-2.0-flash-lite*", 0.075, 0.3),
  p("gemini-2.5-pro*", 1.25, 10, 0.31),
  p("gemini-2.5-flash*", 0.3, 2.5, 0.075),
  p("gemini-2.5-flash-lite*", 0.1, 0.4, 0.025),
  // Meta Llama — https://llama.developer.meta.com (typical hosted prices)
  p("llama-3*", 0.59, 0.79),
  p("llama-3.1-8b*", 0.05, 0.08),
  p("llama-3.3-70b*", 0.59, 0.79),
  p("llama-4-scout*", 0.18, 0.59),
  p("llama-4-maverick*", 0.27, 0.85),
];
