import { GatewayError } from "../../errors/gateway-error.ts";
import { createSseDecoder } from "../../sse/sse-decoder.ts";
import type { ChatEvent, ToolCallDelta } from "../../chat/chat-types.ts";
import { mapOpenAIErrorBody } from "./openai-errors.ts";
import { isRecord, mapOpenAIFinishReason, mapOpenAIUsage } from "./openai-response.ts";

/** Decodes one OpenAI(-compatible) chat completion stream into chat events. */
export interface OpenAIStreamDecoder {
  /**
   * Feeds body bytes; returns the events they complete. An in-band error
   * (or a malformed event) ends the decoding: the events before it are
   * returned, and the next call throws it.
   * @throws GatewayError once the decoder has failed.
   */
  push(chunk: Uint8Array | string): ChatEvent[];
  /** Ends the body. @throws GatewayError once the decoder has failed, or when the stream was cut before its finish. */
  finish(): ChatEvent[];
  /** Whether the decoder has failed, so that the next call throws and no more input is needed. */
  readonly failed: boolean;
  /** Whether `[DONE]` arrived: nothing after it matters. */
  readonly done: boolean;
}

function toolCallDeltas(v: unknown): ToolCallDelta[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  return v.filter(isRecord).map((c, i) => {
    const fn = isRecord(c.function) ? c.function : {};
    const d: ToolCallDelta = { index: typeof c.index === "number" ? c.index : i };
    if (typeof c.id === "string") d.id = c.id;
    if (typeof fn.name === "string") d.name = fn.name;
    if (typeof fn.arguments === "string") d.arguments = fn.arguments;
    return d;
  });
}

/**
 * Creates a decoder for `chat.completion.chunk` SSE streams
 * (https://platform.openai.com/docs/api-reference/chat-streaming). A stream
 * is complete when it sends `[DONE]`, or when every choice it opened has a
 * finish reason (some OpenAI-compatible servers omit the terminator). Pure.
 */
export function createOpenAIStreamDecoder(): OpenAIStreamDecoder {
  const sse = createSseDecoder();
  let started = false;
  let done = false;
  const open = new Set<number>();
  let finished = 0;

  function chunk(data: string, out: ChatEvent[]): void {
    if (data === "[DONE]") {
      done = true;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch (cause) {
      throw new GatewayError("upstream_error", "the upstream sent a malformed stream event", { cause });
    }
    if (!isRecord(json)) throw new GatewayError("upstream_error", "the upstream sent a malformed stream event");
    if (json.error !== undefined && json.error !== null) throw mapOpenAIErrorBody(500, json);
    if (!started) {
      started = true;
      out.push({
        type: "start",
        id: typeof json.id === "string" ? json.id : "",
        model: typeof json.model === "string" ? json.model : "",
        created: typeof json.created === "number" ? json.created : Math.floor(Date.now() / 1000),
        systemFingerprint: typeof json.system_fingerprint === "string" ? json.system_fingerprint : undefined,
      });
    }
    if (Array.isArray(json.choices)) {
      for (const c of json.choices) {
        if (!isRecord(c)) continue;
        const index = typeof c.index === "number" ? c.index : 0;
        open.add(index);
        const d = isRecord(c.delta) ? c.delta : {};
        const ev: Extract<ChatEvent, { type: "delta" }> = { type: "delta", index };
        let any = false;
        if (d.role === "assistant") (ev.role = "assistant"), (any = true);
        if (typeof d.content === "string") (ev.content = d.content), (any = true);
        if (typeof d.refusal === "string") (ev.refusal = d.refusal), (any = true);
        if (typeof d.reasoning_content === "string") (ev.reasoning = d.reasoning_content), (any = true);
        const calls = toolCallDeltas(d.tool_calls);
        if (calls) (ev.toolCalls = calls), (any = true);
        if (c.logprobs !== undefined && c.logprobs !== null) (ev.logprobs = c.logprobs), (any = true);
        if (any) out.push(ev);
        if (typeof c.finish_reason === "string") {
          finished++;
          out.push({ type: "finish", index, reason: mapOpenAIFinishReason(c.finish_reason) });
        }
      }
    }
    const usage = mapOpenAIUsage(json.usage);
    if (usage) out.push({ type: "usage", usage });
  }

  /** An in-band error or a malformed event; thrown on the next call, after the events decoded before it. */
  let failure: GatewayError | undefined;

  function run(events: { data: string }[]): ChatEvent[] {
    if (failure) throw failure;
    const out: ChatEvent[] = [];
    try {
      for (const e of events) if (!done) chunk(e.data, out);
    } catch (err) {
      failure = err as GatewayError;
    }
    return out;
  }

  return {
    get done() {
      return done;
    },
    get failed() {
      return failure !== undefined;
    },
    push: (bytes) => run(sse.push(bytes)),
    finish() {
      const out = run(sse.finish());
      if (failure) throw failure;
      if (!done && (open.size === 0 || finished < open.size)) {
        throw new GatewayError("upstream_unavailable", "the upstream stream ended before the answer was complete");
      }
      return out;
    },
  };
}
