import { GatewayError } from "../../errors/gateway-error.ts";
import type { ChatCompletion, FinishReason, ToolCall, Usage } from "../../chat/chat-types.ts";

/** Narrowing helper for JSON from upstreams. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/**
 * Maps OpenAI's `usage` object (CompletionUsage) to {@link Usage}; undefined
 * when the upstream sent none.
 * https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 */
export function mapOpenAIUsage(u: unknown): Usage | undefined {
  if (!isRecord(u)) return undefined;
  const prompt = isRecord(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const completion = isRecord(u.completion_tokens_details) ? u.completion_tokens_details : {};
  const promptTokens = int(u.prompt_tokens);
  const completionTokens = int(u.completion_tokens);
  return {
    promptTokens,
    completionTokens,
    totalTokens: int(u.total_tokens) || promptTokens + completionTokens,
    cachedTokens: int(prompt.cached_tokens),
    reasoningTokens: int(completion.reasoning_tokens),
  };
}

const UNIFIED = new Set(["stop", "length", "tool_calls", "content_filter", "function_call"]);

/** Maps an OpenAI(-compatible) `finish_reason`, keeping unknown values as `other`. */
export function mapOpenAIFinishReason(raw: string): FinishReason {
  return { unified: UNIFIED.has(raw) ? (raw as FinishReason["unified"]) : "other", raw };
}

function toolCalls(v: unknown): ToolCall[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isRecord).map((c) => {
    const fn = isRecord(c.function) ? c.function : {};
    return {
      id: typeof c.id === "string" ? c.id : "",
      type: "function" as const,
      function: {
        name: typeof fn.name === "string" ? fn.name : "",
        arguments: typeof fn.arguments === "string" ? fn.arguments : "",
      },
    };
  });
}

/**
 * Decodes an OpenAI(-compatible) chat completion response body.
 * https://platform.openai.com/docs/api-reference/chat/object
 *
 * @throws GatewayError `upstream_error` when the body is not a completion.
 */
export function decodeOpenAICompletion(body: unknown): ChatCompletion {
  if (!isRecord(body) || !Array.isArray(body.choices)) {
    throw new GatewayError("upstream_error", "the upstream returned a malformed completion");
  }
  return {
    id: typeof body.id === "string" ? body.id : "",
    model: typeof body.model === "string" ? body.model : "",
    created: int(body.created),
    systemFingerprint: typeof body.system_fingerprint === "string" ? body.system_fingerprint : undefined,
    usage: mapOpenAIUsage(body.usage),
    choices: body.choices.filter(isRecord).map((c, i) => {
      const m = isRecord(c.message) ? c.message : {};
      return {
        index: typeof c.index === "number" ? c.index : i,
        message: {
          content: typeof m.content === "string" ? m.content : null,
          refusal: typeof m.refusal === "string" ? m.refusal : null,
          toolCalls: toolCalls(m.tool_calls),
          reasoning: typeof m.reasoning_content === "string" ? m.reasoning_content : undefined,
        },
        finishReason: mapOpenAIFinishReason(typeof c.finish_reason === "string" ? c.finish_reason : "stop"),
        logprobs: c.logprobs ?? undefined,
      };
    }),
  };
}
