import { GatewayError } from "../../errors/gateway-error.ts";
import type { ChatMessage, ChatRequest, ContentPart } from "../../chat/chat-types.ts";
import { parseDataUrl, type InlineImage } from "../../upstream/image-fetcher.ts";
import { isRecord } from "../openai/openai-response.ts";
import { readGeminiToolCallId } from "./gemini-tool-call-id.ts";

/** A Gemini `Part` as sent. */
export type GeminiRequestPart = Record<string, unknown>;

/** A Gemini `Content`: one turn of the conversation. */
export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiRequestPart[];
}

/** Images fetched before mapping, by their http(s) URL. */
export type ResolvedImages = ReadonlyMap<string, InlineImage>;

function bad(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `${param}: ${message}`, { param });
}

function isRemote(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/**
 * The http(s) image URLs in a request's messages, each once: Gemini takes
 * only inline images, so the adapter fetches these (in parallel) before
 * mapping the request.
 */
export function remoteImageUrls(req: ChatRequest): string[] {
  const urls = new Set<string>();
  for (const m of req.messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content) if (p.type === "image_url" && isRemote(p.image_url.url)) urls.add(p.image_url.url);
  }
  return [...urls];
}

/** The text of content that may only hold text (system, developer and tool messages). */
function textOnly(content: ChatMessage["content"], path: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p, i) => {
      if (p.type === "text") return p.text;
      throw bad(`${path}[${i}].type`, `only text is supported here by Gemini, got ${p.type}`);
    })
    .join("");
}

function inline(mimeType: string, data: string): GeminiRequestPart {
  return { inlineData: { mimeType, data } };
}

function contentPart(p: ContentPart, path: string, images: ResolvedImages): GeminiRequestPart | undefined {
  switch (p.type) {
    case "text":
      return p.text === "" ? undefined : { text: p.text };
    case "refusal":
      return typeof p.refusal === "string" && p.refusal !== "" ? { text: p.refusal } : undefined;
    case "image_url": {
      const url = p.image_url.url;
      const image = parseDataUrl(url) ?? images.get(url);
      if (image) return inline(image.mimeType, image.base64);
      if (isRemote(url)) throw new GatewayError("internal", `${path}.image_url.url was not fetched before mapping`);
      throw bad(`${path}.image_url.url`, "must be an http(s) URL or a base64 data: URL");
    }
    case "input_audio": {
      const audio = isRecord(p.input_audio) ? p.input_audio : {};
      if (typeof audio.data !== "string" || typeof audio.format !== "string") throw bad(`${path}.input_audio`, "needs data and format");
      return inline(`audio/${audio.format}`, audio.data);
    }
    case "file": {
      const file = isRecord(p.file) ? p.file : {};
      const data = typeof file.file_data === "string" ? parseDataUrl(file.file_data) : undefined;
      if (!data) throw bad(`${path}.file`, "only file_data as a base64 data: URL is supported by Gemini (not file_id)");
      return inline(data.mimeType, data.base64);
    }
    default: {
      const never: never = p;
      throw bad(`${path}.type`, `unsupported content part ${String((never as { type: unknown }).type)}`);
    }
  }
}

function contentParts(content: ChatMessage["content"], path: string, images: ResolvedImages): GeminiRequestPart[] {
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  return content.flatMap((p, i): GeminiRequestPart[] => {
    const part = contentPart(p, `${path}[${i}]`, images);
    return part ? [part] : [];
  });
}

function parseArguments(text: string, param: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch {
    throw bad(param, "must be a JSON object");
  }
  if (!isRecord(args)) throw bad(param, "must be a JSON object");
  return args;
}

/**
 * The placeholder signature Google documents for function calls whose
 * signature is unknown. https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export const SKIP_SIGNATURE = "skip_thought_signature_validator";

/**
 * An assistant message as a model turn: text, then one `functionCall` per
 * tool call. Thought signatures and Gemini's call ids return where Gemini
 * gave them: each call's from its tool call id; `reasoning_signature` on the
 * first call when no call carries one, else on the last text part.
 */
function modelParts(m: ChatMessage, path: string, images: ResolvedImages, requireSignatures: boolean): GeminiRequestPart[] {
  const text = contentParts(m.content, `${path}.content`, images);
  const calls = (m.tool_calls ?? []).map((tc, j): GeminiRequestPart => {
    const { signature, upstreamId, malformed } = readGeminiToolCallId(tc.id);
    if (malformed) throw bad(`${path}.tool_calls[${j}].id`, "looks like a tool call id this gateway made, but its parts do not decode; send it back unchanged");
    const args = parseArguments(tc.function.arguments, `${path}.tool_calls[${j}].function.arguments`);
    const functionCall: Record<string, unknown> = { name: tc.function.name, args };
    if (upstreamId !== undefined) functionCall.id = upstreamId;
    return signature === undefined ? { functionCall } : { functionCall, thoughtSignature: signature };
  });
  const signature = typeof m.reasoning_signature === "string" && m.reasoning_signature !== "" ? m.reasoning_signature : undefined;
  if (signature !== undefined) {
    const [first] = calls;
    const last = text.at(-1);
    if (first && !calls.some((c) => c.thoughtSignature !== undefined)) first.thoughtSignature = signature;
    else if (last) last.thoughtSignature ??= signature;
    else if (calls.length === 0) text.push({ text: "", thoughtSignature: signature });
  }
  // Calls the gateway did not make (another provider's, or rebuilt history) carry no signature;
  // Gemini 3 rejects those unless the first carries Google's documented placeholder.
  const [first] = calls;
  if (requireSignatures && first && !calls.some((c) => c.thoughtSignature !== undefined)) first.thoughtSignature = SKIP_SIGNATURE;
  return [...text, ...calls];
}

/** A tool result's `response` object: the content when it is a JSON object, else `{"output": content}`. */
function functionResponse(content: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(content);
    if (isRecord(parsed)) return parsed;
  } catch {
    // Plain text.
  }
  return { output: content };
}

/**
 * Maps OpenAI messages to Gemini `contents` and `systemInstruction`
 * (https://ai.google.dev/api/generate-content#request-body): system and
 * developer messages, in order, become the system instruction's text parts;
 * user messages `user` turns (text, images as `inlineData` — data URLs
 * decoded, http(s) URLs taken from `images` —, audio and file data);
 * assistant messages `model` turns; tool results `functionResponse` parts of
 * a `user` turn, named after the earlier assistant tool call with their
 * `tool_call_id` (and with Gemini's call id, if it gave one). Consecutive turns of one role are merged, as Gemini
 * requires alternation. Message `name`s and `reasoning_content` are not sent.
 * Pure.
 *
 * @throws GatewayError `invalid_request` naming the message at fault (a tool
 * result for an unknown call, arguments that are not a JSON object, a
 * content part Gemini cannot take).
 */
export function mapGeminiContents(
  messages: readonly ChatMessage[],
  images: ResolvedImages,
  options: { requireSignatures?: boolean } = {},
): { contents: GeminiContent[]; systemInstruction?: { parts: { text: string }[] } } {
  const system: { text: string }[] = [];
  const contents: GeminiContent[] = [];
  const callNames = new Map<string, string>();
  const append = (role: GeminiContent["role"], parts: GeminiRequestPart[]) => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  messages.forEach((m, i) => {
    const path = `messages[${i}]`;
    switch (m.role) {
      case "system":
      case "developer": {
        const text = textOnly(m.content, `${path}.content`);
        if (text !== "") system.push({ text });
        return;
      }
      case "user":
        return append("user", contentParts(m.content, `${path}.content`, images));
      case "assistant":
        for (const tc of m.tool_calls ?? []) callNames.set(tc.id, tc.function.name);
        return append("model", modelParts(m, path, images, options.requireSignatures === true));
      case "tool": {
        const id = m.tool_call_id ?? "";
        const name = callNames.get(id) ?? (typeof m.name === "string" && m.name !== "" ? m.name : undefined);
        if (name === undefined) throw bad(`${path}.tool_call_id`, `no earlier assistant message has a tool call with id "${id}"`);
        const response: Record<string, unknown> = { name, response: functionResponse(textOnly(m.content, `${path}.content`)) };
        const { upstreamId } = readGeminiToolCallId(id);
        if (upstreamId !== undefined) response.id = upstreamId;
        return append("user", [{ functionResponse: response }]);
      }
      default: {
        const never: never = m.role;
        throw bad(`${path}.role`, `unsupported role ${String(never)}`);
      }
    }
  });
  return system.length > 0 ? { contents, systemInstruction: { parts: system } } : { contents };
}
