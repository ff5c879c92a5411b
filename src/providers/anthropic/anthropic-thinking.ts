import { GatewayError } from "../../errors/gateway-error.ts";
import { isRecord } from "../openai/openai-response.ts";

/** A thinking block as Anthropic returns it and requires it back: text and signature, or redacted data. */
export type AnthropicThinkingBlock =
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string };

/**
 * Prefix of a `reasoning_signature` that packs several thinking blocks (or
 * any redacted one): the rest is base64url of their JSON array, verbatim.
 */
export const PACKED_SIGNATURE_PREFIX = "anthropic-thinking-v1:";

/**
 * Encodes an answer's thinking blocks as the one `reasoning_signature` a
 * client sends back: a single thinking block travels as its own signature
 * (its text being `reasoning_content`); anything else (several blocks, or a
 * `redacted_thinking` block) is packed whole behind
 * {@link PACKED_SIGNATURE_PREFIX}. Undefined when there are none.
 * https://docs.claude.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks
 */
export function encodeReasoningSignature(blocks: readonly AnthropicThinkingBlock[]): string | undefined {
  if (blocks.length === 0) return undefined;
  const [only] = blocks;
  if (blocks.length === 1 && only?.type === "thinking") return only.signature;
  return PACKED_SIGNATURE_PREFIX + Buffer.from(JSON.stringify(blocks), "utf8").toString("base64url");
}

function isThinkingBlock(v: unknown): v is AnthropicThinkingBlock {
  if (!isRecord(v)) return false;
  if (v.type === "thinking") return typeof v.thinking === "string" && typeof v.signature === "string";
  return v.type === "redacted_thinking" && typeof v.data === "string";
}

/**
 * Rebuilds the thinking blocks of an assistant message from its
 * `reasoning_content` and `reasoning_signature` (see
 * {@link encodeReasoningSignature}). Reasoning without a signature cannot be
 * verified by Anthropic and yields no block.
 * @throws GatewayError `invalid_request` naming `param` when a packed signature is malformed.
 */
export function decodeReasoningSignature(reasoning: unknown, signature: unknown, param: string): AnthropicThinkingBlock[] {
  if (typeof signature !== "string" || signature === "") return [];
  if (!signature.startsWith(PACKED_SIGNATURE_PREFIX)) {
    return [{ type: "thinking", thinking: typeof reasoning === "string" ? reasoning : "", signature }];
  }
  let blocks: unknown;
  try {
    blocks = JSON.parse(Buffer.from(signature.slice(PACKED_SIGNATURE_PREFIX.length), "base64url").toString("utf8"));
  } catch {
    blocks = undefined;
  }
  if (!Array.isArray(blocks) || !blocks.every(isThinkingBlock)) {
    throw new GatewayError("invalid_request", `${param}: is not a reasoning signature this gateway issued; send it back unchanged`, { param });
  }
  return blocks;
}
