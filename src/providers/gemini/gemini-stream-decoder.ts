import { randomUUID } from "node:crypto";
import { GatewayError } from "../../errors/gateway-error.ts";
import { createLineSplitter } from "../../sse/line-splitter.ts";
import { createSseDecoder } from "../../sse/sse-decoder.ts";
import type { ChatEvent, ToolCallDelta, Usage } from "../../chat/chat-types.ts";
import { isRecord } from "../openai/openai-response.ts";
import { mapGeminiErrorBody } from "./gemini-errors.ts";
import { blockReasonOf, candidateParts, mapGeminiLogprobs, mapGeminiUsage, type ToolCallIdFactory } from "./gemini-response.ts";
import { createGeminiToolCallId } from "./gemini-tool-call-id.ts";
import { mapGeminiBlockReason, mapGeminiFinishReason } from "./map-gemini-finish-reason.ts";

/** Decodes one Gemini `streamGenerateContent?alt=sse` body into chat events. */
export interface GeminiStreamDecoder {
  /**
   * Feeds body bytes; returns the events they complete. An in-band error
   * (or a malformed event) ends the decoding: the events before it are
   * returned, and the next call throws it.
   * @throws GatewayError once the decoder has failed.
   */
  push(chunk: Uint8Array | string): ChatEvent[];
  /** Whether the decoder has failed, so that the next call throws and no more input is needed. */
  readonly failed: boolean;
  /**
   * Ends the body; returns the usage event (from the last `usageMetadata`).
   * @throws GatewayError when the stream ended before every candidate had a
   * finish reason, or with an error left at its end.
   */
  finish(): ChatEvent[];
}

/** Options of {@link createGeminiStreamDecoder}. */
export interface GeminiStreamDecoderOptions {
  /** Names the answer when the upstream sends no `modelVersion`. */
  readonly model: string;
  /** Makes tool call ids; by default `createGeminiToolCallId`. */
  readonly newToolCallId?: ToolCallIdFactory;
}

function truncated(): GatewayError {
  return new GatewayError("upstream_unavailable", "the upstream stream ended before the answer was complete");
}

/**
 * Creates a decoder for Gemini's SSE stream
 * (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent):
 * `data: <GenerateContentResponse>` events separated by blank lines (Gemini
 * frames them with CRLF; LF and CR are accepted too), no `[DONE]`: the
 * stream is complete when every candidate it opened has a `finishReason`.
 * Text parts become content deltas, thought parts reasoning deltas, each
 * function call an opening tool call delta (generated id, name, empty
 * arguments) and then one with its whole arguments, as OpenAI streams them,
 * indexed per candidate; the first delta of each candidate carries the role.
 * A bare `{"error":…}` (with or without `data:`) throws the mapped
 * GatewayError. Usage comes once, at the end, from the last `usageMetadata`.
 * Pure: no I/O.
 */
export function createGeminiStreamDecoder(options: GeminiStreamDecoderOptions): GeminiStreamDecoder {
  const newToolCallId = options.newToolCallId ?? createGeminiToolCallId;
  const sse = createSseDecoder();
  const candidates = new Map<number, { toolCalls: number; finished: boolean }>();
  let started = false;
  let usage: Usage | undefined;
  /** Lines outside SSE framing: a bare JSON object, possibly spread over several lines. */
  let raw = "";

  function response(json: unknown, out: ChatEvent[]): void {
    if (!isRecord(json)) throw new GatewayError("upstream_error", "the upstream sent a malformed stream event");
    if (json.error !== undefined) throw mapGeminiErrorBody(0, json);
    if (!started) {
      started = true;
      out.push({
        type: "start",
        id: typeof json.responseId === "string" && json.responseId !== "" ? json.responseId : `chatcmpl-${randomUUID()}`,
        model: typeof json.modelVersion === "string" && json.modelVersion !== "" ? json.modelVersion : options.model,
        created: Math.floor(Date.now() / 1000),
      });
    }
    usage = mapGeminiUsage(json.usageMetadata) ?? usage;
    const list = Array.isArray(json.candidates) ? json.candidates.filter(isRecord) : [];
    const blocked = blockReasonOf(json);
    if (list.length === 0 && blocked !== undefined && !candidates.has(0)) {
      candidates.set(0, { toolCalls: 0, finished: true });
      out.push({ type: "delta", index: 0, role: "assistant" });
      out.push({ type: "finish", index: 0, reason: mapGeminiBlockReason(blocked) });
      return;
    }
    list.forEach((c, position) => {
      const index = typeof c.index === "number" ? c.index : position;
      let state = candidates.get(index);
      const ev: Extract<ChatEvent, { type: "delta" }> = { type: "delta", index };
      if (!state) {
        state = { toolCalls: 0, finished: false };
        candidates.set(index, state);
        ev.role = "assistant";
      }
      let content = "";
      let reasoning = "";
      const calls: ToolCallDelta[] = [];
      /** Each call's arguments, sent after its opening fragment (as OpenAI streams them). */
      const args: ToolCallDelta[] = [];
      for (const part of candidateParts(c)) {
        if (part.kind === "call") {
          const call = state.toolCalls++;
          calls.push({ index: call, id: newToolCallId(part.signature, part.id), name: part.name, arguments: "" });
          args.push({ index: call, arguments: part.arguments });
          continue;
        }
        if (part.signature !== undefined) ev.reasoningSignature = part.signature;
        if (part.kind === "text") content += part.text;
        else if (part.kind === "thought") reasoning += part.text;
      }
      if (reasoning !== "") ev.reasoning = reasoning;
      if (content !== "") ev.content = content;
      if (calls.length > 0) ev.toolCalls = calls;
      const logprobs = mapGeminiLogprobs(c.logprobsResult);
      if (logprobs !== undefined) ev.logprobs = logprobs;
      if (Object.keys(ev).length > 2) out.push(ev);
      if (args.length > 0) out.push({ type: "delta", index, toolCalls: args });
      if (typeof c.finishReason === "string" && !state.finished) {
        state.finished = true;
        out.push({ type: "finish", index, reason: mapGeminiFinishReason(c.finishReason, state.toolCalls > 0) });
      }
    });
  }

  function parse(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new GatewayError("upstream_error", "the upstream sent a malformed stream event", { cause });
    }
  }

  /** Events completed by the input being processed. */
  let out: ChatEvent[] = [];

  /** Gemini frames its stream as SSE, but sends an error as a bare JSON object: each line is one or the other. */
  const lines = createLineSplitter((line) => {
    if (raw !== "" || line.startsWith("{")) {
      raw += `${line}\n`;
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        return; // An object spread over several lines: wait for the rest.
      }
      raw = "";
      response(json, out);
      return;
    }
    for (const e of sse.pushLine(line)) response(parse(e.data), out);
  });

  /** An in-band error or a malformed event; thrown on the next call, after the events decoded before it. */
  let failure: GatewayError | undefined;

  /** Runs `step`, keeping the events it made before failing; the failure is thrown on the next call. */
  function guarded(step: () => void): ChatEvent[] {
    if (failure) throw failure;
    out = [];
    try {
      step();
    } catch (err) {
      failure = err as GatewayError;
    }
    const done = out;
    out = [];
    return done;
  }

  return {
    get failed() {
      return failure !== undefined;
    },
    push: (chunk) => guarded(() => lines.push(chunk)),
    finish() {
      const events = guarded(() => {
        lines.finish();
        for (const e of sse.finish()) response(parse(e.data), out);
        if (raw.trim() !== "") response(parse(raw), out);
      });
      if (failure) throw failure;
      if (candidates.size === 0 || [...candidates.values()].some((c) => !c.finished)) throw truncated();
      if (usage) events.push({ type: "usage", usage });
      return events;
    },
  };
}
