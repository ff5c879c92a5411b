/**
 * The gateway's one internal model of a chat completion. Requests keep
 * OpenAI's wire shape (the lingua franca every surface and adapter already
 * knows); responses are a small event model that every adapter produces and
 * every surface (REST/SSE, Connect) maps from.
 */

/** A text part of message content. */
export interface TextPart {
  type: "text";
  text: string;
}

/** An image part: an https URL or a `data:` URL. */
export interface ImagePart {
  type: "image_url";
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}

/** Any other part OpenAI defines (audio, file, refusal), kept as sent. */
export interface OtherPart {
  type: "input_audio" | "file" | "refusal";
  [key: string]: unknown;
}

/** One piece of message content. */
export type ContentPart = TextPart | ImagePart | OtherPart;

/** A function call made by the assistant; `arguments` is JSON text. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** Roles a message may have. */
export type Role = "system" | "developer" | "user" | "assistant" | "tool";

/**
 * One message in OpenAI's shape. Fields OpenAI-compatible upstreams define
 * beyond these (for example `reasoning_content`) are kept as sent.
 */
export interface ChatMessage {
  role: Role;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  refusal?: string | null;
  /** Reasoning text from an earlier answer (the DeepSeek field name). */
  reasoning_content?: string;
  /** The provider's signature of that reasoning, returned unchanged. */
  reasoning_signature?: string;
  [key: string]: unknown;
}

/** A function the model may call. */
export interface ChatTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

/** Whether and which tool to call. */
export type ToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

/** The shape of the answer. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null };
    };

/**
 * A validated chat completion request in OpenAI's shape. `extra` holds every
 * top-level field the gateway does not name; OpenAI-compatible upstreams
 * receive those unchanged.
 */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string | string[];
  n?: number;
  seed?: number;
  user?: string;
  presence_penalty?: number;
  frequency_penalty?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  tools?: ChatTool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  /** Gateway extension: drop parameters the provider cannot honour instead of failing. Never sent upstream. */
  drop_params?: boolean;
  /**
   * Gateway extension: models to try, in order, when the requested one
   * fails; replaces the fallbacks of the model's route. Never sent upstream.
   */
  fallbacks?: string[];
  extra: Record<string, unknown>;
}

/** Why a choice stopped: the unified reason and the provider's own word. */
export interface FinishReason {
  unified: "stop" | "length" | "tool_calls" | "content_filter" | "function_call" | "other";
  raw: string;
}

/** Token counts of one completion. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

/** A fragment of a streamed tool call: the first has id and name. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

/**
 * One event of a streamed completion. A stream is `start`, then `delta` and
 * `finish` events per choice, then at most one `usage`.
 */
export type ChatEvent =
  | { type: "start"; id: string; model: string; created: number; systemFingerprint?: string }
  | {
      type: "delta";
      index: number;
      role?: "assistant";
      content?: string;
      refusal?: string;
      reasoning?: string;
      reasoningSignature?: string;
      toolCalls?: ToolCallDelta[];
      logprobs?: unknown;
    }
  | { type: "finish"; index: number; reason: FinishReason }
  | { type: "usage"; usage: Usage };

/** The assistant message of one whole choice. */
export interface CompletionMessage {
  content: string | null;
  refusal: string | null;
  toolCalls: ToolCall[];
  reasoning?: string;
  reasoningSignature?: string;
}

/** One whole choice. */
export interface CompletionChoice {
  index: number;
  message: CompletionMessage;
  finishReason: FinishReason;
  logprobs?: unknown;
}

/** A whole (unary) completion. */
export interface ChatCompletion {
  id: string;
  model: string;
  created: number;
  choices: CompletionChoice[];
  usage?: Usage;
  systemFingerprint?: string;
}
