import type { ChatRequest } from "../../chat/chat-types.ts";
import { GatewayError } from "../../errors/gateway-error.ts";
import type { InlineImage } from "../../upstream/image-fetcher.ts";
import type { AnthropicBlock } from "./anthropic-messages.ts";
import { mapAnthropicMessages, needsImageFetch } from "./anthropic-messages.ts";

/** What {@link buildAnthropicRequest} needs beyond the request. */
export interface AnthropicRequestOptions {
  /** The upstream model name. */
  readonly model: string;
  /** `max_tokens` when the caller gave none (Anthropic requires one). */
  readonly defaultMaxTokens: number;
  /** http images fetched beforehand, by URL (see {@link imageUrlsToFetch}). */
  readonly images?: ReadonlyMap<string, InlineImage>;
}

/** Top-level fields outside OpenAI's named set that the mapping understands. */
const MAPPED_EXTRAS = new Set(["reasoning_effort", "top_k"]);

/**
 * Thinking budgets for OpenAI's `reasoning_effort`; `none` turns thinking off.
 * https://docs.claude.com/en/docs/build-with-claude/extended-thinking
 */
const THINKING_BUDGETS: Readonly<Record<string, number>> = { minimal: 1024, low: 1024, medium: 4096, high: 16384, xhigh: 32768 };

/** The least thinking budget Anthropic accepts. */
const MIN_THINKING_BUDGET = 1024;

/**
 * Appended to `system` for `response_format: json_object`: Anthropic has no
 * schema-less JSON mode, and its native structured output needs a schema.
 */
export const JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else: no prose, no code fences.";

/**
 * The top-level OpenAI parameters Anthropic cannot honour for this request:
 * `n` above 1, `logprobs`, `top_logprobs`, non-zero `presence_penalty` /
 * `frequency_penalty`, `seed`, a `temperature` above Anthropic's range of 0–1
 * (dropping it leaves Anthropic's default, 1), and every unnamed field except
 * `reasoning_effort` and `top_k` (so `logit_bias` too).
 * https://docs.claude.com/en/api/openai-sdk#important-openai-compatibility-limitations
 */
export function anthropicUnsupportedParams(req: ChatRequest): string[] {
  const out: string[] = [];
  if (req.n !== undefined && req.n > 1) out.push("n");
  if (req.temperature !== undefined && req.temperature > 1) out.push("temperature");
  if (req.logprobs === true) out.push("logprobs");
  if (req.top_logprobs !== undefined) out.push("top_logprobs");
  if (req.presence_penalty !== undefined && req.presence_penalty !== 0) out.push("presence_penalty");
  if (req.frequency_penalty !== undefined && req.frequency_penalty !== 0) out.push("frequency_penalty");
  if (req.seed !== undefined) out.push("seed");
  for (const [key, value] of Object.entries(req.extra)) {
    if (value !== undefined && value !== null && !MAPPED_EXTRAS.has(key)) out.push(key);
  }
  // Extended thinking takes no temperature but 1, no top_k, top_p only from 0.95, and no forced tool use:
  // https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility
  const effort = req.extra.reasoning_effort;
  if (effort !== undefined && effort !== null && effort !== "none") {
    if (req.temperature !== undefined && req.temperature !== 1 && !out.includes("temperature")) out.push("temperature");
    if (req.top_p !== undefined && req.top_p < 0.95) out.push("top_p");
    if (req.extra.top_k !== undefined && req.extra.top_k !== null) out.push("top_k");
    if (req.tool_choice === "required" || typeof req.tool_choice === "object") out.push("tool_choice");
  }
  return out;
}

/**
 * The http image URLs in the request that must be fetched and inlined before
 * mapping (https ones go as URL sources), each with the first part naming it.
 */
export function imageUrlsToFetch(req: ChatRequest): Map<string, string> {
  const urls = new Map<string, string>();
  req.messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    m.content.forEach((part, j) => {
      if (part.type === "image_url" && needsImageFetch(part.image_url.url) && !urls.has(part.image_url.url)) {
        urls.set(part.image_url.url, `messages[${i}].content[${j}].image_url.url`);
      }
    });
  });
  return urls;
}

function bad(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `${param}: ${message}`, { param });
}

function toolChoice(req: ChatRequest): Record<string, unknown> | undefined {
  const choice = req.tool_choice;
  let out: Record<string, unknown> | undefined;
  if (choice === "auto") out = { type: "auto" };
  else if (choice === "none") return { type: "none" };
  else if (choice === "required") out = { type: "any" };
  else if (choice !== undefined) out = { type: "tool", name: choice.function.name };
  if (req.parallel_tool_calls === false) out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  return out;
}

/**
 * Models that take adaptive thinking (`thinking: {type: "adaptive"}` with
 * `output_config.effort`): Claude 4.6 and later, the only kind Opus 4.7 and
 * later accept. https://docs.claude.com/en/docs/build-with-claude/adaptive-thinking
 */
const ADAPTIVE = /claude-(?:(?:opus|sonnet)-4-[6-9]|(?:opus|sonnet|haiku)-[5-9]|mythos|fable)/;
/** `reasoning_effort` → adaptive `effort`; `max` only on Opus. */
function adaptiveEffort(effort: string, model: string): string {
  if (effort === "xhigh") return /claude-opus/.test(model) ? "max" : "high";
  return effort === "minimal" ? "low" : effort;
}

function thinking(req: ChatRequest, model: string, maxTokens: number, explicitMax: boolean): { thinking?: Record<string, unknown>; effort?: string; maxTokens: number } {
  const effort = req.extra.reasoning_effort;
  if (effort === undefined || effort === null || effort === "none") return { maxTokens };
  const budget = typeof effort === "string" ? THINKING_BUDGETS[effort] : undefined;
  if (budget === undefined) throw bad("reasoning_effort", `must be one of none, ${Object.keys(THINKING_BUDGETS).join(", ")}`);
  if (ADAPTIVE.test(model)) {
    // The model decides how much to think, within max_tokens: leave it the budget's room when the caller set no limit.
    return { thinking: { type: "adaptive" }, effort: adaptiveEffort(effort as string, model), maxTokens: explicitMax ? maxTokens : maxTokens + budget };
  }
  if (!explicitMax) return { thinking: { type: "enabled", budget_tokens: budget }, maxTokens: maxTokens + budget };
  // The caller's limit covers thinking too (as OpenAI's max_completion_tokens does): fit the budget under it.
  const fitted = Math.min(budget, maxTokens - 1);
  if (fitted < MIN_THINKING_BUDGET) {
    throw bad("reasoning_effort", `needs max_completion_tokens above ${MIN_THINKING_BUDGET} on Anthropic, whose thinking budget is at least ${MIN_THINKING_BUDGET} tokens`);
  }
  return { thinking: { type: "enabled", budget_tokens: fitted }, maxTokens };
}

function system(blocks: AnthropicBlock[], req: ChatRequest): string | AnthropicBlock[] | undefined {
  const all = req.response_format?.type === "json_object" ? [...blocks, { type: "text", text: JSON_OBJECT_INSTRUCTION }] : blocks;
  if (all.length === 0) return undefined;
  const plain = all.every((b) => b.cache_control === undefined);
  return plain && all.length === 1 ? (all[0]?.text as string) : all;
}

/**
 * Maps a chat request to an Anthropic Messages request body
 * (https://docs.claude.com/en/api/messages), per the gateway's mapping table:
 * `max_completion_tokens` ?? `max_tokens` ?? the default (plus the thinking
 * budget when `reasoning_effort` asks for thinking and no limit was given);
 * `stop` → `stop_sequences` (whitespace-only ones dropped, as Anthropic
 * rejects them); `user` → `metadata.user_id`; tools with `input_schema`
 * (`strict` dropped); `tool_choice` auto / none / required → any / a named
 * function → tool, and `parallel_tool_calls: false` →
 * `disable_parallel_tool_use`; `response_format` json_schema →
 * `output_config.format` (native structured output), json_object → an
 * instruction appended to `system`; `reasoning_effort` → extended thinking
 * with a budget (minimal/low 1024, medium 4096, high 16384, xhigh 32768
 * tokens), or, on models that take it, adaptive thinking with
 * `output_config.effort` (minimal/low → low, medium, high, xhigh → max on
 * Opus, high elsewhere); `top_k` passes through. Pure.
 * @throws GatewayError `invalid_request` naming the field Anthropic cannot take.
 */
export function buildAnthropicRequest(req: ChatRequest, opts: AnthropicRequestOptions): Record<string, unknown> {
  const conversation = mapAnthropicMessages(req.messages, opts.images ?? new Map());
  const requested = req.max_completion_tokens ?? req.max_tokens;
  const { thinking: thinkingConfig, effort, maxTokens } = thinking(req, opts.model, requested ?? opts.defaultMaxTokens, requested !== undefined);
  const body: Record<string, unknown> = { model: opts.model, max_tokens: maxTokens };
  const systemValue = system(conversation.system, req);
  if (systemValue !== undefined) body.system = systemValue;
  body.messages = conversation.messages;
  if (req.stream) body.stream = true;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.top_p !== undefined) body.top_p = req.top_p;
  const topK = req.extra.top_k;
  if (topK !== undefined && topK !== null) {
    if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1) throw bad("top_k", "must be a positive integer");
    body.top_k = topK;
  }
  const stops = (typeof req.stop === "string" ? [req.stop] : (req.stop ?? [])).filter((s) => s.trim() !== "");
  if (stops.length > 0) body.stop_sequences = stops;
  if (req.user !== undefined) body.metadata = { user_id: req.user };
  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => {
      const tool: Record<string, unknown> = { name: t.function.name };
      if (t.function.description !== undefined) tool.description = t.function.description;
      tool.input_schema = { type: "object", ...(t.function.parameters ?? { properties: {} }) };
      return tool;
    });
    const choice = toolChoice(req);
    if (choice !== undefined) body.tool_choice = choice;
  }
  if (req.response_format?.type === "json_schema") {
    const schema = req.response_format.json_schema.schema;
    if (schema === undefined) throw bad("response_format.json_schema.schema", "is required by Anthropic's structured output");
    body.output_config = { format: { type: "json_schema", schema } };
  }
  if (thinkingConfig !== undefined) body.thinking = thinkingConfig;
  if (effort !== undefined) body.output_config = { ...(body.output_config as Record<string, unknown> | undefined), effort };
  return body;
}
