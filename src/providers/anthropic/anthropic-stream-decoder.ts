import type { ChatEvent, ToolCallDelta } from "../../chat/chat-types.ts";
import { GatewayError } from "../../errors/gateway-error.ts";
import { createSseDecoder } from "../../sse/sse-decoder.ts";
import { isRecord } from "../openai/openai-response.ts";
import { mapAnthropicError } from "./anthropic-errors.ts";
import type { AnthropicUsageCounts } from "./anthropic-response.ts";
import { mapAnthropicUsage, readAnthropicUsage, THINKING_SEPARATOR, thinkingBlockOf } from "./anthropic-response.ts";
import type { AnthropicThinkingBlock } from "./anthropic-thinking.ts";
import { encodeReasoningSignature } from "./anthropic-thinking.ts";
import { mapAnthropicStopReason } from "./map-anthropic-stop-reason.ts";

/**
 * Decodes one Anthropic Messages stream into chat events. An in-band `error`
 * event (or a malformed one) fails the decoder: the call that meets it still
 * returns the events decoded before it, and every later call throws.
 */
export interface AnthropicStreamDecoder {
  /** Feeds body bytes; returns the events they complete. @throws GatewayError once the decoder has failed. */
  push(chunk: Uint8Array | string): ChatEvent[];
  /** Ends the body. @throws GatewayError once the decoder has failed, or when the stream ended before `message_stop`. */
  finish(): ChatEvent[];
  /** Whether the stream has failed, so that the next call throws and no more input is needed. */
  readonly failed: boolean;
  /** Whether `message_stop` arrived, so the rest of the body is not needed. */
  readonly done: boolean;
}

/** What the decoder remembers of one open content block. */
type BlockState =
  | { kind: "tool"; toolIndex: number; argsSeen: boolean; input: unknown }
  | { kind: "thinking"; block: AnthropicThinkingBlock; textSeen: boolean }
  | { kind: "other" };

type Delta = Extract<ChatEvent, { type: "delta" }>;

/** Events that only make sense once `message_start` has opened the message. */
const AFTER_START = new Set(["content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);

/**
 * Creates a decoder for Anthropic's SSE stream
 * (https://docs.claude.com/en/docs/build-with-claude/streaming):
 * `message_start` → `start` and a role delta; text and thinking deltas →
 * `content` and `reasoning` deltas; each `tool_use` block → tool call deltas
 * indexed by its ordinal among the tool_use blocks (not its block index),
 * the first carrying id, name and empty arguments; `message_delta` → the
 * thinking blocks' `reasoningSignature` (once, whole) and `finish`;
 * `message_stop` → `usage` from the cumulative counts. `ping` and unknown
 * events are skipped. Pure: no I/O.
 */
export function createAnthropicStreamDecoder(now: () => number = Date.now): AnthropicStreamDecoder {
  const sse = createSseDecoder();
  const blocks = new Map<number, BlockState>();
  const thinking: AnthropicThinkingBlock[] = [];
  let started = false;
  let done = false;
  let finished = false;
  let reasoningSeen = false;
  let toolCount = 0;
  let stopReason: string | undefined;
  let usage: AnthropicUsageCounts = {};

  const delta = (fields: Omit<Delta, "type" | "index">): Delta => ({ type: "delta", index: 0, ...fields });
  const toolDelta = (d: ToolCallDelta): Delta => delta({ toolCalls: [d] });

  function mergeUsage(u: unknown): void {
    const next = readAnthropicUsage(u);
    for (const key of Object.keys(next) as (keyof AnthropicUsageCounts)[]) if (next[key] === undefined) delete next[key];
    usage = { ...usage, ...next };
  }

  function reasoning(state: Extract<BlockState, { kind: "thinking" }>, text: string, out: ChatEvent[]): void {
    if (text === "") return;
    const separator = !state.textSeen && reasoningSeen ? THINKING_SEPARATOR : "";
    state.textSeen = true;
    reasoningSeen = true;
    out.push(delta({ reasoning: separator + text }));
  }

  function blockStart(index: number, block: Record<string, unknown>, out: ChatEvent[]): void {
    const t = thinkingBlockOf(block);
    if (t) {
      thinking.push(t);
      const state = { kind: "thinking" as const, block: t, textSeen: false };
      blocks.set(index, state);
      if (t.type === "thinking") reasoning(state, t.thinking, out);
    } else if (block.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string") {
      const toolIndex = toolCount++;
      blocks.set(index, { kind: "tool", toolIndex, argsSeen: false, input: block.input });
      out.push(toolDelta({ index: toolIndex, id: block.id, name: block.name, arguments: "" }));
    } else {
      blocks.set(index, { kind: "other" });
      if (block.type === "text" && typeof block.text === "string" && block.text !== "") out.push(delta({ content: block.text }));
    }
  }

  function blockDelta(state: BlockState | undefined, d: Record<string, unknown>, out: ChatEvent[]): void {
    if (d.type === "text_delta" && typeof d.text === "string" && d.text !== "") out.push(delta({ content: d.text }));
    else if (d.type === "input_json_delta" && state?.kind === "tool" && typeof d.partial_json === "string" && d.partial_json !== "") {
      state.argsSeen = true;
      out.push(toolDelta({ index: state.toolIndex, arguments: d.partial_json }));
    } else if (d.type === "thinking_delta" && state?.kind === "thinking" && state.block.type === "thinking" && typeof d.thinking === "string") {
      state.block.thinking += d.thinking;
      reasoning(state, d.thinking, out);
    } else if (d.type === "signature_delta" && state?.kind === "thinking" && state.block.type === "thinking" && typeof d.signature === "string") {
      state.block.signature = d.signature;
    }
  }

  function end(out: ChatEvent[]): void {
    if (finished) return;
    finished = true;
    const signature = encodeReasoningSignature(thinking);
    if (signature !== undefined) out.push(delta({ reasoningSignature: signature }));
    out.push({ type: "finish", index: 0, reason: mapAnthropicStopReason(stopReason) });
  }

  function event(name: string, data: string, out: ChatEvent[]): void {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch (cause) {
      throw new GatewayError("upstream_error", "the upstream sent a malformed stream event", { cause });
    }
    if (!isRecord(json)) throw new GatewayError("upstream_error", "the upstream sent a malformed stream event");
    const type = typeof json.type === "string" ? json.type : name;
    if (!started && AFTER_START.has(type)) {
      throw new GatewayError("upstream_error", `the upstream stream sent ${type} before message_start`);
    }
    switch (type) {
      case "error":
        throw mapAnthropicError(undefined, json);
      case "message_start": {
        const message = isRecord(json.message) ? json.message : {};
        if (started) return;
        started = true;
        mergeUsage(message.usage);
        out.push({
          type: "start",
          id: typeof message.id === "string" ? message.id : "",
          model: typeof message.model === "string" ? message.model : "",
          created: Math.floor(now() / 1000),
        });
        out.push(delta({ role: "assistant" }));
        return;
      }
      case "content_block_start":
        if (typeof json.index === "number" && isRecord(json.content_block)) blockStart(json.index, json.content_block, out);
        return;
      case "content_block_delta":
        if (typeof json.index === "number" && isRecord(json.delta)) blockDelta(blocks.get(json.index), json.delta, out);
        return;
      case "content_block_stop": {
        const state = typeof json.index === "number" ? blocks.get(json.index) : undefined;
        // A call without argument fragments: its arguments are the start's input, "{}" when empty (as a unary answer has them).
        if (state?.kind === "tool" && !state.argsSeen) {
          out.push(toolDelta({ index: state.toolIndex, arguments: JSON.stringify(isRecord(state.input) ? state.input : {}) }));
        }
        return;
      }
      case "message_delta": {
        const d = isRecord(json.delta) ? json.delta : {};
        if (typeof d.stop_reason === "string") stopReason = d.stop_reason;
        mergeUsage(json.usage);
        end(out);
        return;
      }
      case "message_stop":
        end(out);
        done = true;
        out.push({ type: "usage", usage: mapAnthropicUsage(usage) });
        return;
      default:
        // `ping`, and events newer than this decoder: skipped, as the SDKs do.
        return;
    }
  }

  let failure: GatewayError | undefined;

  function run(decode: () => { event: string; data: string }[]): ChatEvent[] {
    if (failure) throw failure;
    const out: ChatEvent[] = [];
    try {
      for (const e of decode()) if (!done) event(e.event, e.data, out);
    } catch (err) {
      failure = err instanceof GatewayError ? err : new GatewayError("upstream_error", "the upstream sent a malformed stream", { cause: err });
      if (out.length === 0) throw failure;
    }
    return out;
  }

  return {
    push: (bytes) => run(() => sse.push(bytes)),
    finish() {
      const out = run(() => sse.finish());
      // What finish decodes is at most the one event left without its blank line, so throwing loses nothing.
      if (failure) throw failure;
      if (!done) throw new GatewayError("upstream_unavailable", "the upstream stream ended before the answer was complete");
      return out;
    },
    get failed() {
      return failure !== undefined;
    },
    get done() {
      return done;
    },
  };
}
