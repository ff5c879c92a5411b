import { create, type JsonObject } from "@bufbuild/protobuf";
import {
  CreateChatCompletionResponseSchema,
  FinishReason as ProtoFinishReason,
  Role as ProtoRole,
  ToolChoiceMode,
  type ContentPart as ProtoPart,
  type CreateChatCompletionRequest,
  type CreateChatCompletionResponse,
  type Message as ProtoMessage,
  type StreamChatCompletionRequest,
  type StreamChatCompletionResponse,
  type Usage as ProtoUsage,
} from "../../gen/gateway/v1/chat_pb.js";
import type { ChatCompletion, ChatEvent, FinishReason, Usage } from "../chat/chat-types.ts";
import { GatewayError } from "../errors/gateway-error.ts";

const ROLES: Record<number, string> = {
  [ProtoRole.SYSTEM]: "system",
  [ProtoRole.DEVELOPER]: "developer",
  [ProtoRole.USER]: "user",
  [ProtoRole.ASSISTANT]: "assistant",
  [ProtoRole.TOOL]: "tool",
};

const FINISH: Record<string, ProtoFinishReason> = {
  stop: ProtoFinishReason.STOP,
  length: ProtoFinishReason.LENGTH,
  tool_calls: ProtoFinishReason.TOOL_CALLS,
  content_filter: ProtoFinishReason.CONTENT_FILTER,
  function_call: ProtoFinishReason.FUNCTION_CALL,
  other: ProtoFinishReason.UNSPECIFIED,
};

function part(p: ProtoPart, path: string): Record<string, unknown> {
  switch (p.part.case) {
    case "text":
      return { type: "text", text: p.part.value };
    case "imageUrl":
      return { type: "image_url", image_url: p.part.value.detail ? { url: p.part.value.url, detail: p.part.value.detail } : { url: p.part.value.url } };
    case "inputAudio":
      return { type: "input_audio", input_audio: { data: p.part.value.data, format: p.part.value.format } };
    case "file": {
      const f = p.part.value;
      return { type: "file", file: { ...(f.filename && { filename: f.filename }), ...(f.fileData && { file_data: f.fileData }), ...(f.fileId && { file_id: f.fileId }) } };
    }
    case "refusal":
      return { type: "refusal", refusal: p.part.value };
    case undefined:
      throw new GatewayError("invalid_request", `${path}: a content part must have one of text, image_url, input_audio, file, refusal`, { param: path });
    default: {
      const never: never = p.part;
      return never;
    }
  }
}

function message(m: ProtoMessage, i: number): Record<string, unknown> {
  const role = ROLES[m.role];
  if (!role) throw new GatewayError("invalid_request", `messages[${i}].role: must be set`, { param: `messages[${i}].role` });
  const parts = m.content.map((p, j) => part(p, `messages[${i}].content[${j}]`));
  const only = parts.length === 1 ? parts[0] : undefined;
  const out: Record<string, unknown> = {
    role,
    content: only?.type === "text" ? only.text : parts.length === 0 ? (role === "assistant" ? null : "") : parts,
  };
  if (m.name !== undefined) out.name = m.name;
  if (m.toolCalls.length > 0) {
    out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  }
  if (m.toolCallId !== "") out.tool_call_id = m.toolCallId;
  if (m.refusal !== undefined) out.refusal = m.refusal;
  if (m.reasoning !== undefined) out.reasoning_content = m.reasoning;
  if (m.reasoningSignature !== undefined) out.reasoning_signature = m.reasoningSignature;
  return out;
}

/**
 * Turns a Connect chat request into the body of the equivalent OpenAI
 * request, to be checked by `validateChatRequest` like any REST body; the
 * `extra` Struct's fields join the top level.
 * @throws GatewayError `invalid_request` for unset roles or content parts.
 */
export function chatBodyFromProto(req: CreateChatCompletionRequest | StreamChatCompletionRequest, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { ...(req.extra ?? {}), model: req.model, messages: req.messages.map(message), stream };
  const optional = {
    temperature: req.temperature,
    top_p: req.topP,
    max_tokens: req.maxTokens,
    max_completion_tokens: req.maxCompletionTokens,
    n: req.n,
    seed: req.seed === undefined ? undefined : Number(req.seed),
    user: req.user,
    presence_penalty: req.presencePenalty,
    frequency_penalty: req.frequencyPenalty,
    logprobs: req.logprobs,
    top_logprobs: req.topLogprobs,
    parallel_tool_calls: req.parallelToolCalls,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) body[k] = v;
  if (req.fallbacks.length > 0) body.fallbacks = [...req.fallbacks];
  if (req.stop.length > 0) body.stop = req.stop;
  if (req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description && { description: t.description }),
        ...(t.parameters && { parameters: t.parameters }),
        ...(t.strict !== undefined && { strict: t.strict }),
      },
    }));
  }
  const choice = req.toolChoice?.choice;
  if (choice?.case === "functionName") body.tool_choice = { type: "function", function: { name: choice.value } };
  if (choice?.case === "mode" && choice.value !== ToolChoiceMode.UNSPECIFIED) {
    body.tool_choice = { [ToolChoiceMode.AUTO]: "auto", [ToolChoiceMode.NONE]: "none", [ToolChoiceMode.REQUIRED]: "required" }[choice.value];
  }
  const format = req.responseFormat?.format;
  if (format?.case === "text") body.response_format = { type: "text" };
  if (format?.case === "jsonObject") body.response_format = { type: "json_object" };
  if (format?.case === "jsonSchema") {
    const s = format.value;
    body.response_format = {
      type: "json_schema",
      json_schema: { name: s.name, ...(s.description && { description: s.description }), ...(s.schema && { schema: s.schema }), ...(s.strict !== undefined && { strict: s.strict }) },
    };
  }
  if (stream && "streamOptions" in req && req.streamOptions) body.stream_options = { include_usage: req.streamOptions.includeUsage };
  return body;
}

function usage(u: Usage): ProtoUsage {
  return {
    $typeName: "gateway.v1.Usage",
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    totalTokens: u.totalTokens,
    cachedTokens: u.cachedTokens,
    reasoningTokens: u.reasoningTokens,
  };
}

function finish(r: FinishReason): { finishReason: ProtoFinishReason; nativeFinishReason: string } {
  return { finishReason: FINISH[r.unified] ?? ProtoFinishReason.UNSPECIFIED, nativeFinishReason: r.raw };
}

/** Maps a whole completion to the Connect response. */
export function completionToProto(c: ChatCompletion, provider: string): CreateChatCompletionResponse {
  return create(CreateChatCompletionResponseSchema, {
    id: c.id,
    model: c.model,
    created: BigInt(Math.trunc(c.created)),
    provider,
    usage: c.usage ? usage(c.usage) : undefined,
    choices: c.choices.map((ch) => ({
      index: ch.index,
      ...finish(ch.finishReason),
      logprobs: (ch.logprobs ?? undefined) as JsonObject | undefined,
      message: {
        role: ProtoRole.ASSISTANT,
        content: ch.message.content === null ? [] : [{ part: { case: "text" as const, value: ch.message.content } }],
        refusal: ch.message.refusal ?? undefined,
        toolCalls: ch.message.toolCalls.map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments })),
        reasoning: ch.message.reasoning,
        reasoningSignature: ch.message.reasoningSignature,
      },
    })),
  });
}

/** Maps one chat event to a Connect stream message. */
export function eventToProto(e: ChatEvent, provider: string): StreamChatCompletionResponse["event"] {
  switch (e.type) {
    case "start":
      return { case: "start", value: { $typeName: "gateway.v1.StreamStart", id: e.id, model: e.model, created: BigInt(Math.trunc(e.created)), provider } };
    case "delta":
      return {
        case: "delta",
        value: {
          $typeName: "gateway.v1.ChoiceDelta",
          index: e.index,
          content: e.content ?? "",
          refusal: e.refusal ?? "",
          reasoning: e.reasoning ?? "",
          reasoningSignature: e.reasoningSignature ?? "",
          logprobs: (e.logprobs ?? undefined) as JsonObject | undefined,
          toolCalls: (e.toolCalls ?? []).map((t) => ({
            $typeName: "gateway.v1.ToolCallDelta",
            index: t.index,
            id: t.id ?? "",
            name: t.name ?? "",
            arguments: t.arguments ?? "",
          })),
        },
      };
    case "finish":
      return { case: "finish", value: { $typeName: "gateway.v1.ChoiceFinish", index: e.index, ...finish(e.reason) } };
    case "usage":
      return { case: "usage", value: usage(e.usage) };
    default: {
      const never: never = e;
      return never;
    }
  }
}
