import { GatewayError } from "../errors/gateway-error.ts";
import type { ChatMessage, ChatRequest, ChatTool, ResponseFormat, ToolChoice } from "./chat-types.ts";

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);
const PART_TYPES = new Set(["text", "image_url", "input_audio", "file", "refusal"]);

/** Fields of the request that the gateway names; all others go to `extra`. */
const NAMED = new Set([
  "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens",
  "max_completion_tokens", "stop", "n", "seed", "user", "presence_penalty", "frequency_penalty",
  "logprobs", "top_logprobs", "tools", "tool_choice", "parallel_tool_calls", "response_format", "drop_params",
  "fallbacks",
]);

/** Most fallback models one request may name. */
export const MAX_FALLBACKS = 8;

function checkFallbacks(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad("fallbacks", "must be an array of model names");
  if (v.length > MAX_FALLBACKS) throw bad("fallbacks", `must name at most ${MAX_FALLBACKS} models`);
  v.forEach((m, i) => {
    if (typeof m !== "string" || m.trim() === "") throw bad(`fallbacks[${i}]`, "must be a non-empty model name");
  });
  return [...new Set(v as string[])];
}

function bad(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `${param}: ${message}`, { param });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function number(body: Record<string, unknown>, key: string, min: number, max: number, integer = false): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw bad(key, "must be a number");
  if (integer && !Number.isInteger(v)) throw bad(key, "must be an integer");
  if (v < min || v > max) throw bad(key, `must be between ${min} and ${max}`);
  return v;
}

function boolean(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw bad(key, "must be a boolean");
  return v;
}

function checkContent(content: unknown, path: string, role: string): void {
  if (typeof content === "string") return;
  if (content === null || content === undefined) {
    if (role === "assistant") return;
    throw bad(path, "is required");
  }
  if (!Array.isArray(content)) throw bad(path, "must be a string or an array of content parts");
  content.forEach((part: unknown, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(part) || typeof part.type !== "string" || !PART_TYPES.has(part.type)) {
      throw bad(`${p}.type`, `must be one of ${[...PART_TYPES].join(", ")}`);
    }
    if (part.type === "text" && typeof part.text !== "string") throw bad(`${p}.text`, "must be a string");
    if (part.type === "image_url") {
      if (!isObject(part.image_url) || typeof part.image_url.url !== "string" || part.image_url.url === "") {
        throw bad(`${p}.image_url.url`, "must be an https or data: URL");
      }
    }
  });
}

function checkToolCalls(calls: unknown, path: string): void {
  if (!Array.isArray(calls)) throw bad(path, "must be an array");
  calls.forEach((call: unknown, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(call) || typeof call.id !== "string") throw bad(`${p}.id`, "must be a string");
    const fn = call.function;
    if (!isObject(fn) || typeof fn.name !== "string") throw bad(`${p}.function.name`, "must be a string");
    if (typeof fn.arguments !== "string") throw bad(`${p}.function.arguments`, "must be a JSON string");
  });
}

function checkMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw bad("messages", "must be a non-empty array");
  value.forEach((m: unknown, i) => {
    const p = `messages[${i}]`;
    if (!isObject(m)) throw bad(p, "must be an object");
    if (typeof m.role !== "string" || !ROLES.has(m.role)) {
      throw bad(`${p}.role`, `must be one of ${[...ROLES].join(", ")}`);
    }
    if (m.role === "assistant" && m.tool_calls !== undefined && m.tool_calls !== null) {
      checkToolCalls(m.tool_calls, `${p}.tool_calls`);
    }
    checkContent(m.content, `${p}.content`, m.role);
    if (m.role === "tool" && typeof m.tool_call_id !== "string") throw bad(`${p}.tool_call_id`, "must be a string");
    if (m.name !== undefined && m.name !== null && typeof m.name !== "string") throw bad(`${p}.name`, "must be a string");
  });
  return value as ChatMessage[];
}

function checkTools(value: unknown): ChatTool[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw bad("tools", "must be an array");
  value.forEach((t: unknown, i) => {
    const p = `tools[${i}]`;
    if (!isObject(t) || t.type !== "function") throw bad(`${p}.type`, 'must be "function"');
    if (!isObject(t.function) || typeof t.function.name !== "string" || t.function.name === "") {
      throw bad(`${p}.function.name`, "must be a non-empty string");
    }
    const params = t.function.parameters;
    if (params !== undefined && params !== null && !isObject(params)) {
      throw bad(`${p}.function.parameters`, "must be a JSON Schema object");
    }
  });
  return value as ChatTool[];
}

function checkToolChoice(value: unknown): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "auto" || value === "none" || value === "required") return value;
  if (isObject(value) && value.type === "function" && isObject(value.function) && typeof value.function.name === "string") {
    return value as ToolChoice;
  }
  throw bad("tool_choice", 'must be "auto", "none", "required" or {"type":"function","function":{"name":...}}');
}

function checkResponseFormat(value: unknown): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw bad("response_format", "must be an object");
  if (value.type === "text" || value.type === "json_object") return value as ResponseFormat;
  if (value.type === "json_schema") {
    const js = value.json_schema;
    if (!isObject(js) || typeof js.name !== "string") throw bad("response_format.json_schema.name", "must be a string");
    if (js.schema !== undefined && js.schema !== null && !isObject(js.schema)) {
      throw bad("response_format.json_schema.schema", "must be a JSON Schema object");
    }
    return value as ResponseFormat;
  }
  throw bad("response_format.type", 'must be "text", "json_object" or "json_schema"');
}

function checkStop(value: unknown): string | string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.length <= 4 && value.every((s) => typeof s === "string")) return value as string[];
  throw bad("stop", "must be a string or an array of at most 4 strings");
}

/**
 * Checks a parsed OpenAI chat completion body and returns it as a
 * {@link ChatRequest}. Message objects are kept as sent, so fields the gateway
 * does not name still reach OpenAI-compatible upstreams.
 *
 * @throws GatewayError `invalid_request` naming the first offending field.
 */
export function validateChatRequest(body: unknown): ChatRequest {
  if (!isObject(body)) throw new GatewayError("invalid_request", "the request body must be a JSON object");
  if (typeof body.model !== "string" || body.model.trim() === "") throw bad("model", "must be a non-empty string");
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions)) {
    throw bad("stream_options", "must be an object");
  }
  if (isObject(streamOptions) && streamOptions.include_usage !== undefined && typeof streamOptions.include_usage !== "boolean") {
    throw bad("stream_options.include_usage", "must be a boolean");
  }
  const user = body.user;
  if (user !== undefined && user !== null && typeof user !== "string") throw bad("user", "must be a string");
  const extra: Record<string, unknown> = {};
  for (const key of Object.keys(body)) if (!NAMED.has(key)) extra[key] = body[key];
  const req: ChatRequest = {
    model: body.model,
    messages: checkMessages(body.messages),
    stream: boolean(body, "stream") ?? false,
    stream_options: isObject(streamOptions) ? (streamOptions as ChatRequest["stream_options"]) : undefined,
    temperature: number(body, "temperature", 0, 2),
    top_p: number(body, "top_p", 0, 1),
    max_tokens: number(body, "max_tokens", 1, Number.MAX_SAFE_INTEGER, true),
    max_completion_tokens: number(body, "max_completion_tokens", 1, Number.MAX_SAFE_INTEGER, true),
    stop: checkStop(body.stop),
    n: number(body, "n", 1, 128, true),
    seed: number(body, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true),
    user: typeof user === "string" ? user : undefined,
    presence_penalty: number(body, "presence_penalty", -2, 2),
    frequency_penalty: number(body, "frequency_penalty", -2, 2),
    logprobs: boolean(body, "logprobs"),
    top_logprobs: number(body, "top_logprobs", 0, 20, true),
    tools: checkTools(body.tools),
    tool_choice: checkToolChoice(body.tool_choice),
    parallel_tool_calls: boolean(body, "parallel_tool_calls"),
    response_format: checkResponseFormat(body.response_format),
    drop_params: boolean(body, "drop_params"),
    fallbacks: checkFallbacks(body.fallbacks),
    extra,
  };
  for (const key of Object.keys(req) as (keyof ChatRequest)[]) if (req[key] === undefined) delete req[key];
  return req;
}
