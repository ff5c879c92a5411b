import { GatewayError } from "../../errors/gateway-error.ts";
import type { ChatRequest, ChatTool, ToolChoice } from "../../chat/chat-types.ts";
import { mapGeminiContents, type ResolvedImages } from "./gemini-contents.ts";

const EFFORTS = ["none", "minimal", "low", "medium", "high"] as const;
type Effort = (typeof EFFORTS)[number];

/** Thinking budgets (tokens) for Gemini 2.x, as LiteLLM maps `reasoning_effort`. */
const BUDGETS: Record<Effort, number> = { none: 0, minimal: 128, low: 1024, medium: 2048, high: 4096 };

/** `extra` fields this adapter maps; every other one is unsupported. */
const MAPPED_EXTRA = new Set(["reasoning_effort", "top_k"]);

function isEffort(v: unknown): v is Effort {
  return typeof v === "string" && (EFFORTS as readonly string[]).includes(v);
}

/**
 * The request parameters Gemini cannot honour: `user`, `parallel_tool_calls:
 * false` (Gemini has no switch for it), a `reasoning_effort` it does not
 * know, and every other field in `extra` (`logit_bias`, `metadata`, …) but
 * `top_k`. Null values count as absent.
 */
export function geminiUnsupportedParams(req: ChatRequest): string[] {
  const out: string[] = [];
  if (req.user !== undefined && req.user !== null) out.push("user");
  if (req.parallel_tool_calls === false) out.push("parallel_tool_calls");
  for (const [key, value] of Object.entries(req.extra)) {
    if (value === undefined || value === null) continue;
    if (!MAPPED_EXTRA.has(key) || (key === "reasoning_effort" && !isEffort(value)) || (key === "top_k" && typeof value !== "number")) out.push(key);
  }
  return out;
}

/** Drops the `$schema` keyword, which says nothing about the data. */
function schema(s: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _, ...rest } = s;
  return rest;
}

function functionDeclaration(t: ChatTool): Record<string, unknown> {
  const decl: Record<string, unknown> = { name: t.function.name };
  if (t.function.description !== undefined && t.function.description !== null) decl.description = t.function.description;
  const params = t.function.parameters;
  const noArguments = params === undefined || params === null || (params.type === "object" && Object.keys((params.properties as object | undefined) ?? {}).length === 0);
  if (!noArguments) decl.parametersJsonSchema = schema(params);
  return decl;
}

function toolConfig(choice: ToolChoice): Record<string, unknown> {
  switch (choice) {
    case "auto":
      return { functionCallingConfig: { mode: "AUTO" } };
    case "none":
      return { functionCallingConfig: { mode: "NONE" } };
    case "required":
      return { functionCallingConfig: { mode: "ANY" } };
    default:
      return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  }
}

/** Gemini 3 models: thinking levels, and thought signatures required on replayed function calls. */
const GEMINI_3 = /(^|\/)gemini-3/;

/**
 * `reasoning_effort` as a `thinkingConfig`: Gemini 3 models take a
 * `thinkingLevel` (low for none/minimal/low, high for medium/high), earlier
 * ones a `thinkingBudget` (0, 128, 1024, 2048, 4096 tokens). Thoughts are
 * included (as reasoning) unless the effort is none.
 * https://ai.google.dev/gemini-api/docs/thinking
 */
function thinkingConfig(effort: Effort, model: string): Record<string, unknown> {
  const includeThoughts = effort !== "none";
  if (GEMINI_3.test(model)) {
    return { thinkingLevel: effort === "medium" || effort === "high" ? "high" : "low", includeThoughts };
  }
  // 2.5 Pro cannot turn thinking off (its budget is 128 to 32768 tokens): "none" asks for the least, unshown.
  const budget = effort === "none" && /(^|\/)gemini-2\.5-pro/.test(model) ? BUDGETS.minimal : BUDGETS[effort];
  return { thinkingBudget: budget, includeThoughts };
}

/**
 * Maps a {@link ChatRequest} to a Gemini `GenerateContentRequest` body
 * (https://ai.google.dev/api/generate-content#request-body): messages as
 * `mapGeminiContents` does; `max_completion_tokens` ?? `max_tokens` →
 * `maxOutputTokens`; temperature, top_p, `top_k`, stop, `n`
 * (`candidateCount`), seed, presence/frequency penalties and logprobs
 * (`responseLogprobs`, `logprobs`) → `generationConfig`; tools →
 * `functionDeclarations` with `parametersJsonSchema`; `tool_choice` auto,
 * none, required (`ANY`) or a named function (`ANY` with
 * `allowedFunctionNames`); `response_format` json_object →
 * `responseMimeType: application/json`, json_schema → that and
 * `responseJsonSchema`; `reasoning_effort` → `thinkingConfig`. Parameters
 * listed by {@link geminiUnsupportedParams} are not sent. Pure: http(s)
 * images come already fetched in `images`.
 *
 * @throws GatewayError `invalid_request` as `mapGeminiContents` does.
 */
export function buildGeminiRequestBody(req: ChatRequest, model: string, images: ResolvedImages = new Map(), maxTokens?: number): Record<string, unknown> {
  const body: Record<string, unknown> = { ...mapGeminiContents(req.messages, images, { requireSignatures: GEMINI_3.test(model) }) };
  if ((body.contents as unknown[]).length === 0) {
    throw new GatewayError("invalid_request", "messages: Gemini needs at least one user or assistant message besides the system ones", { param: "messages" });
  }
  // "auto" and "none" without tools change nothing; a required or named call cannot be honoured.
  if ((req.tool_choice === "required" || typeof req.tool_choice === "object") && req.tool_choice !== null && (!req.tools || req.tools.length === 0)) {
    throw new GatewayError("invalid_request", "tool_choice: requires a tool call, but the request gives no tools", { param: "tool_choice" });
  }
  const config: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) config[key] = value;
  };
  set("temperature", req.temperature);
  set("topP", req.top_p);
  set("topK", typeof req.extra.top_k === "number" ? req.extra.top_k : undefined);
  set("maxOutputTokens", req.max_completion_tokens ?? req.max_tokens ?? maxTokens);
  set("stopSequences", typeof req.stop === "string" ? [req.stop] : req.stop);
  set("candidateCount", req.n);
  set("seed", req.seed);
  set("presencePenalty", req.presence_penalty);
  set("frequencyPenalty", req.frequency_penalty);
  if (req.logprobs === true) {
    config.responseLogprobs = true;
    set("logprobs", req.top_logprobs);
  }
  const format = req.response_format;
  if (format?.type === "json_object" || format?.type === "json_schema") config.responseMimeType = "application/json";
  if (format?.type === "json_schema" && format.json_schema.schema) config.responseJsonSchema = schema(format.json_schema.schema);
  if (isEffort(req.extra.reasoning_effort)) config.thinkingConfig = thinkingConfig(req.extra.reasoning_effort, model);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  if (req.tools && req.tools.length > 0) {
    body.tools = [{ functionDeclarations: req.tools.map(functionDeclaration) }];
    if (req.tool_choice !== undefined && req.tool_choice !== null) body.toolConfig = toolConfig(req.tool_choice);
  }
  return body;
}
