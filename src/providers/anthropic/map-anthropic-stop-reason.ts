import type { FinishReason } from "../../chat/chat-types.ts";

/**
 * Maps Anthropic's `stop_reason` to the unified finish reason, keeping the raw
 * value. `pause_turn` (a server-tool loop paused) reads as `stop`, and
 * `model_context_window_exceeded` as `length`; unknown values become `other`.
 * https://docs.claude.com/en/api/handling-stop-reasons
 */
export function mapAnthropicStopReason(raw: string | null | undefined): FinishReason {
  const value = raw ?? "end_turn";
  switch (value) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return { unified: "stop", raw: value };
    case "max_tokens":
    case "model_context_window_exceeded":
      return { unified: "length", raw: value };
    case "tool_use":
      return { unified: "tool_calls", raw: value };
    case "refusal":
      return { unified: "content_filter", raw: value };
    default:
      return { unified: "other", raw: value };
  }
}
