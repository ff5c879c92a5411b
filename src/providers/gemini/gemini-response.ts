import { randomUUID } from "node:crypto";
import { GatewayError } from "../../errors/gateway-error.ts";
import type { ChatCompletion, CompletionChoice, ToolCall, Usage } from "../../chat/chat-types.ts";
import { isRecord } from "../openai/openai-response.ts";
import { createGeminiToolCallId } from "./gemini-tool-call-id.ts";
import { mapGeminiBlockReason, mapGeminiFinishReason } from "./map-gemini-finish-reason.ts";

/** One Gemini `Part`, read: answer text, thought text, a function call, or anything else. */
export type GeminiPart =
  | { kind: "text"; text: string; signature?: string }
  | { kind: "thought"; text: string; signature?: string }
  | { kind: "call"; name: string; arguments: string; signature?: string; id?: string }
  | { kind: "other"; signature?: string };

/** Makes the tool call id of a function call, given its thought signature and Gemini's id for it. */
export type ToolCallIdFactory = (signature?: string, upstreamId?: string) => string;

function int(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/**
 * Reads one `Part` of a candidate's content. Function call `args` (an object)
 * become OpenAI's arguments JSON text; a `thoughtSignature` is kept.
 * https://ai.google.dev/api/caching#Part
 */
export function readGeminiPart(p: unknown): GeminiPart {
  if (!isRecord(p)) return { kind: "other" };
  const signature = typeof p.thoughtSignature === "string" && p.thoughtSignature !== "" ? { signature: p.thoughtSignature } : {};
  if (isRecord(p.functionCall)) {
    const fc = p.functionCall;
    const args = isRecord(fc.args) ? fc.args : {};
    const id = typeof fc.id === "string" && fc.id !== "" ? { id: fc.id } : {};
    return { kind: "call", name: typeof fc.name === "string" ? fc.name : "", arguments: JSON.stringify(args), ...signature, ...id };
  }
  if (typeof p.text === "string") return { kind: p.thought === true ? "thought" : "text", text: p.text, ...signature };
  return { kind: "other", ...signature };
}

/** The parts of a candidate's content. */
export function candidateParts(c: Record<string, unknown>): GeminiPart[] {
  const content = isRecord(c.content) ? c.content : {};
  return Array.isArray(content.parts) ? content.parts.map(readGeminiPart) : [];
}

/**
 * Maps Gemini's `usageMetadata` to {@link Usage}: prompt is
 * `promptTokenCount` (cached tokens included), completion is
 * `candidatesTokenCount + thoughtsTokenCount`, cached is
 * `cachedContentTokenCount`, reasoning is `thoughtsTokenCount`. Undefined
 * when there is none.
 * https://ai.google.dev/api/generate-content#UsageMetadata
 */
export function mapGeminiUsage(u: unknown): Usage | undefined {
  if (!isRecord(u)) return undefined;
  const promptTokens = int(u.promptTokenCount);
  const thoughts = int(u.thoughtsTokenCount);
  const completionTokens = int(u.candidatesTokenCount) + thoughts;
  return {
    promptTokens,
    completionTokens,
    totalTokens: int(u.totalTokenCount) || promptTokens + completionTokens,
    cachedTokens: int(u.cachedContentTokenCount),
    reasoningTokens: thoughts,
  };
}

function logprobEntry(c: Record<string, unknown>) {
  const token = typeof c.token === "string" ? c.token : "";
  return { token, logprob: typeof c.logProbability === "number" ? c.logProbability : 0, bytes: [...Buffer.from(token, "utf8")] };
}

/**
 * Maps a candidate's `logprobsResult` (chosen tokens and, per position, the
 * top candidates) to OpenAI's `logprobs` object; undefined when absent.
 * https://ai.google.dev/api/generate-content#LogprobsResult
 */
export function mapGeminiLogprobs(result: unknown): unknown {
  if (!isRecord(result) || !Array.isArray(result.chosenCandidates)) return undefined;
  const top: unknown[] = Array.isArray(result.topCandidates) ? result.topCandidates : [];
  return {
    content: result.chosenCandidates.filter(isRecord).map((c, i) => {
      const at = top[i];
      const alternatives = isRecord(at) && Array.isArray(at.candidates) ? at.candidates.filter(isRecord).map(logprobEntry) : [];
      return { ...logprobEntry(c), top_logprobs: alternatives };
    }),
    refusal: null,
  };
}

function choiceOf(c: Record<string, unknown>, position: number, newToolCallId: ToolCallIdFactory): CompletionChoice {
  const text: string[] = [];
  const thoughts: string[] = [];
  const toolCalls: ToolCall[] = [];
  let signature: string | undefined;
  for (const part of candidateParts(c)) {
    if (part.kind === "call") {
      toolCalls.push({ id: newToolCallId(part.signature, part.id), type: "function", function: { name: part.name, arguments: part.arguments } });
      continue;
    }
    if (part.signature !== undefined) signature = part.signature;
    if (part.kind === "text") text.push(part.text);
    else if (part.kind === "thought") thoughts.push(part.text);
  }
  const choice: CompletionChoice = {
    index: typeof c.index === "number" ? c.index : position,
    message: { content: text.length > 0 ? text.join("") : null, refusal: null, toolCalls },
    finishReason: mapGeminiFinishReason(typeof c.finishReason === "string" ? c.finishReason : undefined, toolCalls.length > 0),
  };
  if (thoughts.length > 0) choice.message.reasoning = thoughts.join("");
  if (signature !== undefined) choice.message.reasoningSignature = signature;
  const logprobs = mapGeminiLogprobs(c.logprobsResult);
  if (logprobs !== undefined) choice.logprobs = logprobs;
  return choice;
}

/** The `promptFeedback.blockReason` of a response, if the prompt was blocked. */
export function blockReasonOf(body: Record<string, unknown>): string | undefined {
  const feedback = body.promptFeedback;
  return isRecord(feedback) && typeof feedback.blockReason === "string" ? feedback.blockReason : undefined;
}

/**
 * Decodes a `GenerateContentResponse` into a {@link ChatCompletion}: one
 * choice per candidate (`index` as sent, else its position); text parts make
 * the content, thought parts (`thought: true`) the reasoning, function calls
 * the tool calls with generated ids (see `createGeminiToolCallId`). A blocked
 * prompt (`promptFeedback.blockReason`, no candidates) is one empty choice
 * finished by `content_filter`. `model` names the answer when the upstream
 * sends no `modelVersion`.
 * https://ai.google.dev/api/generate-content#generatecontentresponse
 *
 * @throws GatewayError `upstream_error` when the body is not such a response.
 */
export function decodeGeminiResponse(body: unknown, model: string, newToolCallId: ToolCallIdFactory = createGeminiToolCallId): ChatCompletion {
  if (!isRecord(body)) throw new GatewayError("upstream_error", "the upstream returned a malformed completion");
  const candidates = Array.isArray(body.candidates) ? body.candidates.filter(isRecord) : [];
  const blocked = blockReasonOf(body);
  if (candidates.length === 0 && blocked === undefined) {
    throw new GatewayError("upstream_error", "the upstream returned a completion without candidates");
  }
  const choices =
    candidates.length > 0
      ? candidates.map((c, i) => choiceOf(c, i, newToolCallId))
      : [{ index: 0, message: { content: null, refusal: null, toolCalls: [] }, finishReason: mapGeminiBlockReason(blocked as string) }];
  return {
    id: typeof body.responseId === "string" && body.responseId !== "" ? body.responseId : `chatcmpl-${randomUUID()}`,
    model: typeof body.modelVersion === "string" && body.modelVersion !== "" ? body.modelVersion : model,
    created: Math.floor(Date.now() / 1000),
    choices,
    usage: mapGeminiUsage(body.usageMetadata),
  };
}
