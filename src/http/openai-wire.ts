import { errorTable, type GatewayError } from "../errors/gateway-error.ts";
import type { ChatCompletion, ChatEvent, FinishReason, Usage } from "../chat/chat-types.ts";

/**
 * OpenAI's error envelope; all four keys are always present.
 * https://platform.openai.com/docs/guides/error-codes
 */
export function toOpenAIError(err: GatewayError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return {
    error: {
      message: err.message,
      type: err.kind === "rate_limited" && err.openaiCode === "insufficient_quota" ? "insufficient_quota" : errorTable[err.kind].type,
      param: err.param ?? null,
      code: err.openaiCode ?? (err.kind === "unauthenticated" ? "invalid_api_key" : null),
    },
  };
}

function finishReason(r: FinishReason): string {
  return r.unified === "other" ? r.raw : r.unified;
}

function usageJson(u: Usage): Record<string, unknown> {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

/**
 * Renders a whole completion as OpenAI's `chat.completion` object.
 * https://platform.openai.com/docs/api-reference/chat/object
 */
export function toOpenAICompletion(c: ChatCompletion): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    object: "chat.completion",
    created: c.created,
    model: c.model,
    choices: c.choices.map((ch) => {
      const message: Record<string, unknown> = { role: "assistant", content: ch.message.content, refusal: ch.message.refusal };
      if (ch.message.toolCalls.length > 0) message.tool_calls = ch.message.toolCalls;
      if (ch.message.reasoning !== undefined) message.reasoning_content = ch.message.reasoning;
      if (ch.message.reasoningSignature !== undefined) message.reasoning_signature = ch.message.reasoningSignature;
      return { index: ch.index, message, logprobs: ch.logprobs ?? null, finish_reason: finishReason(ch.finishReason) };
    }),
  };
  if (c.usage) out.usage = usageJson(c.usage);
  if (c.systemFingerprint !== undefined) out.system_fingerprint = c.systemFingerprint;
  return out;
}

/** Renders chat events as `chat.completion.chunk` SSE frames. */
export interface ChunkFormatter {
  /** The SSE frame for an event, or "" for one the client does not get. */
  format(event: ChatEvent): string;
}

/**
 * Creates a formatter for one stream
 * (https://platform.openai.com/docs/api-reference/chat-streaming). With
 * `includeUsage`, every chunk carries `"usage": null` and the usage event
 * becomes a chunk with empty `choices`, as OpenAI sends them; without it the
 * usage event is dropped.
 */
export function createChunkFormatter(includeUsage: boolean): ChunkFormatter {
  let head = "";
  const frame = (choices: string, usage: string) => `data: {${head},"choices":${choices}${usage}}\n\n`;
  const nullUsage = includeUsage ? ',"usage":null' : "";
  return {
    format(e) {
      switch (e.type) {
        case "start": {
          head = `"id":${JSON.stringify(e.id)},"object":"chat.completion.chunk","created":${e.created},"model":${JSON.stringify(e.model)}`;
          if (e.systemFingerprint !== undefined) head += `,"system_fingerprint":${JSON.stringify(e.systemFingerprint)}`;
          return "";
        }
        case "delta": {
          const delta: Record<string, unknown> = {};
          if (e.role) delta.role = e.role;
          if (e.content !== undefined) delta.content = e.content;
          if (e.refusal !== undefined) delta.refusal = e.refusal;
          if (e.reasoning !== undefined) delta.reasoning_content = e.reasoning;
          if (e.reasoningSignature !== undefined) delta.reasoning_signature = e.reasoningSignature;
          if (e.toolCalls) {
            delta.tool_calls = e.toolCalls.map((t) =>
              t.id !== undefined || t.name !== undefined
                ? { index: t.index, id: t.id, type: "function", function: { name: t.name, arguments: t.arguments ?? "" } }
                : { index: t.index, function: { arguments: t.arguments ?? "" } },
            );
          }
          const choice = { index: e.index, delta, logprobs: e.logprobs ?? null, finish_reason: null };
          return frame(JSON.stringify([choice]), nullUsage);
        }
        case "finish": {
          const choice = { index: e.index, delta: {}, logprobs: null, finish_reason: finishReason(e.reason) };
          return frame(JSON.stringify([choice]), nullUsage);
        }
        case "usage":
          return includeUsage ? frame("[]", `,"usage":${JSON.stringify(usageJson(e.usage))}`) : "";
        default: {
          const never: never = e;
          return never;
        }
      }
    },
  };
}

/** The last frame of a stream that completed. */
export const DONE_FRAME = "data: [DONE]\n\n";

/** An in-band error frame: the stream then ends without `[DONE]`. */
export function errorFrame(err: GatewayError): string {
  return `data: ${JSON.stringify(toOpenAIError(err))}\n\n`;
}
