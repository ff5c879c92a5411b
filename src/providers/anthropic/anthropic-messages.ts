import type { ChatMessage, ContentPart } from "../../chat/chat-types.ts";
import { GatewayError } from "../../errors/gateway-error.ts";
import type { InlineImage } from "../../upstream/image-fetcher.ts";
import { parseDataUrl } from "../../upstream/image-fetcher.ts";
import { isRecord } from "../openai/openai-response.ts";
import { decodeReasoningSignature } from "./anthropic-thinking.ts";

/** One Anthropic content block (`text`, `image`, `document`, `tool_use`, `tool_result`, `thinking`, …). */
export type AnthropicBlock = { type: string } & Record<string, unknown>;

/** One Anthropic turn. */
export interface AnthropicTurn {
  role: "user" | "assistant";
  content: AnthropicBlock[];
}

/** The conversation in Anthropic's shape: hoisted system text and alternating turns. */
export interface AnthropicConversation {
  /** The text of every system and developer message, in order, as text blocks. */
  system: AnthropicBlock[];
  messages: AnthropicTurn[];
}

/** Image media types Anthropic accepts. */
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

function bad(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `${param}: ${message}`, { param });
}

/** A text block, keeping a `cache_control` the client set on the part; undefined for whitespace-only text, which Anthropic rejects. */
function textBlock(text: string, part?: Record<string, unknown>): AnthropicBlock | undefined {
  if (text.trim() === "") return undefined;
  const block: AnthropicBlock = { type: "text", text };
  if (part && isRecord(part.cache_control)) block.cache_control = part.cache_control;
  return block;
}

function inlineImage(image: InlineImage, param: string): AnthropicBlock {
  // "image/jpg" is a common misspelling that browsers and SDKs produce; Anthropic knows only image/jpeg.
  const mediaType = image.mimeType.toLowerCase() === "image/jpg" ? "image/jpeg" : image.mimeType.toLowerCase();
  if (!IMAGE_TYPES.has(mediaType)) {
    throw bad(param, `image type ${image.mimeType} is not supported by Anthropic (jpeg, png, gif and webp are)`);
  }
  return { type: "image", source: { type: "base64", media_type: mediaType, data: image.base64 } };
}

/** Whether the mapper needs the image at `url` fetched first: plain http URLs, which Anthropic's URL source does not take. */
export function needsImageFetch(url: string): boolean {
  return /^http:\/\//i.test(url);
}

function imageBlock(url: string, param: string, images: ReadonlyMap<string, InlineImage>): AnthropicBlock {
  if (/^data:/i.test(url)) {
    const image = parseDataUrl(url);
    if (!image) throw bad(param, "a data: URL must be base64-encoded (data:<type>;base64,<data>)");
    return inlineImage(image, param);
  }
  if (/^https:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  const fetched = needsImageFetch(url) ? images.get(url) : undefined;
  if (!fetched) throw bad(param, "must be an https, http or data: URL");
  return inlineImage(fetched, param);
}

function fileBlock(part: Record<string, unknown>, param: string): AnthropicBlock {
  const file = isRecord(part.file) ? part.file : {};
  const data = typeof file.file_data === "string" ? parseDataUrl(file.file_data) : undefined;
  if (!data || data.mimeType !== "application/pdf") {
    throw bad(param, "only PDF files sent inline as file_data (a base64 data: URL) are supported by Anthropic");
  }
  return { type: "document", source: { type: "base64", media_type: "application/pdf", data: data.base64 } };
}

/** Blocks of user or tool content: text, images and PDF files. */
function contentBlocks(content: ChatMessage["content"], path: string, images: ReadonlyMap<string, InlineImage>): AnthropicBlock[] {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return [textBlock(content)].filter((b) => b !== undefined);
  const out: AnthropicBlock[] = [];
  content.forEach((part: ContentPart, j) => {
    const p = `${path}[${j}]`;
    const raw = part as Record<string, unknown>;
    switch (part.type) {
      case "text": {
        const block = textBlock(part.text, raw);
        if (block) out.push(block);
        return;
      }
      case "refusal": {
        const block = typeof raw.refusal === "string" ? textBlock(raw.refusal) : undefined;
        if (block) out.push(block);
        return;
      }
      case "image_url":
        out.push(imageBlock(part.image_url.url, `${p}.image_url.url`, images));
        return;
      case "file":
        out.push(fileBlock(raw, `${p}.file`));
        return;
      case "input_audio":
        throw bad(`${p}.type`, "input_audio is not supported by Anthropic");
      default: {
        const never: never = part;
        throw bad(`${p}.type`, `${String((never as { type: unknown }).type)} is not supported by Anthropic`);
      }
    }
  });
  return out;
}

function systemBlocks(m: ChatMessage, path: string): AnthropicBlock[] {
  if (typeof m.content === "string") return [textBlock(m.content)].filter((b) => b !== undefined);
  const out: AnthropicBlock[] = [];
  (m.content ?? []).forEach((part, j) => {
    if (part.type !== "text") throw bad(`${path}[${j}].type`, `${m.role} messages may hold text only`);
    const block = textBlock(part.text, part as unknown as Record<string, unknown>);
    if (block) out.push(block);
  });
  return out;
}

function toolUseBlocks(m: ChatMessage, path: string): AnthropicBlock[] {
  return (m.tool_calls ?? []).map((call, k) => {
    const param = `${path}.tool_calls[${k}].function.arguments`;
    let input: unknown = {};
    if (call.function.arguments.trim() !== "") {
      try {
        input = JSON.parse(call.function.arguments);
      } catch {
        throw bad(param, "must be a JSON object");
      }
    }
    if (!isRecord(input)) throw bad(param, "must be a JSON object");
    return { type: "tool_use", id: call.id, name: call.function.name, input };
  });
}

function assistantBlocks(m: ChatMessage, path: string, images: ReadonlyMap<string, InlineImage>): AnthropicBlock[] {
  const thinking: AnthropicBlock[] = decodeReasoningSignature(m.reasoning_content, m.reasoning_signature, `${path}.reasoning_signature`);
  const text = contentBlocks(m.content, `${path}.content`, images);
  if (text.length === 0 && typeof m.refusal === "string") {
    const block = textBlock(m.refusal);
    if (block) text.push(block);
  }
  return [...thinking, ...text, ...toolUseBlocks(m, path)];
}

function toolResultBlock(m: ChatMessage, path: string, images: ReadonlyMap<string, InlineImage>): AnthropicBlock {
  const block: AnthropicBlock = { type: "tool_result", tool_use_id: m.tool_call_id };
  if (typeof m.content === "string") {
    if (m.content !== "") block.content = m.content;
  } else {
    const content = contentBlocks(m.content, `${path}.content`, images);
    if (content.length > 0) block.content = content;
  }
  return block;
}

/**
 * Maps OpenAI messages to Anthropic's conversation shape
 * (https://docs.claude.com/en/api/messages): system and developer messages
 * are hoisted, in order, to `system`; tool results become `tool_result`
 * blocks of a user turn; consecutive turns of one role are merged, so all the
 * tool results after one assistant turn (and any user text after them) form
 * the single user turn Anthropic requires, tool results first. Thinking
 * blocks are rebuilt from `reasoning_content` + `reasoning_signature`. A
 * closing assistant turn (a prefill) loses trailing whitespace, which
 * Anthropic rejects. `name` fields are dropped. Pure; `images` holds the http
 * images fetched beforehand (see {@link needsImageFetch}).
 * @throws GatewayError `invalid_request` naming the message part Anthropic cannot take.
 */
export function mapAnthropicMessages(messages: readonly ChatMessage[], images: ReadonlyMap<string, InlineImage>): AnthropicConversation {
  const system: AnthropicBlock[] = [];
  const turns: AnthropicTurn[] = [];
  const push = (role: AnthropicTurn["role"], blocks: AnthropicBlock[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  messages.forEach((m, i) => {
    const path = `messages[${i}]`;
    switch (m.role) {
      case "system":
      case "developer":
        system.push(...systemBlocks(m, `${path}.content`));
        return;
      case "user":
        push("user", contentBlocks(m.content, `${path}.content`, images));
        return;
      case "tool":
        push("user", [toolResultBlock(m, path, images)]);
        return;
      case "assistant":
        push("assistant", assistantBlocks(m, path, images));
        return;
      default: {
        const never: never = m.role;
        throw bad(`${path}.role`, `${String(never)} is not supported`);
      }
    }
  });
  for (const turn of turns) {
    if (turn.role === "user") {
      turn.content = [...turn.content.filter((b) => b.type === "tool_result"), ...turn.content.filter((b) => b.type !== "tool_result")];
    }
  }
  const last = turns.at(-1);
  const tail = last?.role === "assistant" ? last.content.at(-1) : undefined;
  // Never empty: whitespace-only text blocks were left out above.
  if (tail?.type === "text" && typeof tail.text === "string") tail.text = tail.text.trimEnd();
  return { system, messages: turns };
}
