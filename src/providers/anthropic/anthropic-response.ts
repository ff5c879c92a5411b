import type { ChatCompletion, ToolCall, Usage } from "../../chat/chat-types.ts";
import { GatewayError } from "../../errors/gateway-error.ts";
import { isRecord } from "../openai/openai-response.ts";
import { mapAnthropicError } from "./anthropic-errors.ts";
import type { AnthropicThinkingBlock } from "./anthropic-thinking.ts";
import { encodeReasoningSignature } from "./anthropic-thinking.ts";
import { mapAnthropicStopReason } from "./map-anthropic-stop-reason.ts";

/** Token counts as Anthropic reports them; fields a report leaves out (or nulls) are undefined. */
export interface AnthropicUsageCounts {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
  thinking?: number;
}

function count(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * Reads an Anthropic `usage` object (`Usage`, or a stream's cumulative
 * `MessageDeltaUsage`). https://docs.claude.com/en/api/messages#response-usage
 */
export function readAnthropicUsage(u: unknown): AnthropicUsageCounts {
  if (!isRecord(u)) return {};
  const details = isRecord(u.output_tokens_details) ? u.output_tokens_details : {};
  return {
    input: count(u.input_tokens),
    output: count(u.output_tokens),
    cacheRead: count(u.cache_read_input_tokens),
    cacheCreation: count(u.cache_creation_input_tokens),
    thinking: count(details.thinking_tokens),
  };
}

/**
 * Maps Anthropic token counts to {@link Usage}: prompt tokens are
 * `input_tokens` (which excludes the cache) plus cache reads plus cache
 * writes, cached tokens are the cache reads, reasoning tokens are
 * `output_tokens_details.thinking_tokens` where reported.
 * https://docs.claude.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance
 */
export function mapAnthropicUsage(c: AnthropicUsageCounts): Usage {
  const promptTokens = (c.input ?? 0) + (c.cacheRead ?? 0) + (c.cacheCreation ?? 0);
  const completionTokens = c.output ?? 0;
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, cachedTokens: c.cacheRead ?? 0, reasoningTokens: c.thinking ?? 0 };
}

/** Whether a content block is one of the thinking blocks that must go back unchanged. */
export function thinkingBlockOf(block: unknown): AnthropicThinkingBlock | undefined {
  if (!isRecord(block)) return undefined;
  if (block.type === "thinking" && typeof block.thinking === "string") {
    return { type: "thinking", thinking: block.thinking, signature: typeof block.signature === "string" ? block.signature : "" };
  }
  if (block.type === "redacted_thinking" && typeof block.data === "string") return { type: "redacted_thinking", data: block.data };
  return undefined;
}

/** Separates the texts of consecutive thinking blocks in `reasoning`. */
export const THINKING_SEPARATOR = "\n\n";

/**
 * Decodes an Anthropic `Message` into a one-choice completion: text blocks
 * joined into `content` (null when none), `tool_use` blocks into tool calls
 * with their input as JSON text, thinking text into `reasoning` and the
 * thinking blocks into `reasoningSignature` (see `encodeReasoningSignature`).
 * `created` is the decoding time, as Anthropic sends none.
 * https://docs.claude.com/en/api/messages#response
 * @throws GatewayError `upstream_error` when the body is not a message, or the mapped error when it is an error envelope.
 */
export function decodeAnthropicMessage(body: unknown, now = Date.now()): ChatCompletion {
  if (isRecord(body) && body.type === "error") throw mapAnthropicError(undefined, body);
  if (!isRecord(body) || !Array.isArray(body.content)) {
    throw new GatewayError("upstream_error", "the upstream returned a malformed message");
  }
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  const thinking: AnthropicThinkingBlock[] = [];
  for (const block of body.content) {
    if (!isRecord(block)) continue;
    const t = thinkingBlockOf(block);
    if (t) thinking.push(t);
    else if (block.type === "text" && typeof block.text === "string") texts.push(block.text);
    else if (block.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string") {
      toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const reasoningTexts = thinking.flatMap((b) => (b.type === "thinking" && b.thinking !== "" ? [b.thinking] : []));
  return {
    id: typeof body.id === "string" ? body.id : "",
    model: typeof body.model === "string" ? body.model : "",
    created: Math.floor(now / 1000),
    usage: mapAnthropicUsage(readAnthropicUsage(body.usage)),
    choices: [
      {
        index: 0,
        message: {
          content: texts.length > 0 ? texts.join("") : null,
          refusal: null,
          toolCalls,
          reasoning: reasoningTexts.length > 0 ? reasoningTexts.join(THINKING_SEPARATOR) : undefined,
          reasoningSignature: encodeReasoningSignature(thinking),
        },
        finishReason: mapAnthropicStopReason(typeof body.stop_reason === "string" ? body.stop_reason : undefined),
      },
    ],
  };
}
