import type { FinishReason } from "../../chat/chat-types.ts";

const CONTENT_FILTER = new Set([
  "SAFETY",
  "RECITATION",
  "LANGUAGE",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
  "IMAGE_OTHER",
  "NO_IMAGE",
  "OTHER",
]);

/**
 * Maps a Gemini candidate's `finishReason` to the unified finish reason,
 * keeping the raw value. Gemini has no tool-call reason (calls come with
 * `STOP`), so a candidate that made a function call is `tool_calls` unless
 * it was filtered; safety and policy reasons are `content_filter`;
 * `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL` and `TOO_MANY_TOOL_CALLS`
 * read as `stop` (as LiteLLM maps them); unknown values become `other`.
 * https://ai.google.dev/api/generate-content#FinishReason
 */
export function mapGeminiFinishReason(raw: string | undefined, madeFunctionCall: boolean): FinishReason {
  const value = raw ?? "STOP";
  if (CONTENT_FILTER.has(value)) return { unified: "content_filter", raw: value };
  if (madeFunctionCall) return { unified: "tool_calls", raw: value };
  switch (value) {
    case "STOP":
    case "FINISH_REASON_UNSPECIFIED":
    case "MALFORMED_FUNCTION_CALL":
    case "UNEXPECTED_TOOL_CALL":
    case "TOO_MANY_TOOL_CALLS":
      return { unified: "stop", raw: value };
    case "MAX_TOKENS":
      return { unified: "length", raw: value };
    default:
      return { unified: "other", raw: value };
  }
}

/** The finish reason of a prompt Gemini blocked (`promptFeedback.blockReason`, no candidates). */
export function mapGeminiBlockReason(blockReason: string): FinishReason {
  return { unified: "content_filter", raw: blockReason };
}
