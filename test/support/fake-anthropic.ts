import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** A request the fake Anthropic API received. */
export interface AnthropicReceived {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** How the fake answers one request: a JSON body with a status, or SSE frames (optionally left hanging, or cut by destroying the socket). */
export type AnthropicReply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status?: number; sse: string[]; delayMs?: number; hang?: boolean; destroy?: boolean; headers?: Record<string, string> };

/** A fake Anthropic Messages API on a real loopback port. */
export interface FakeAnthropic {
  /** Origin without a path (the SDK and the gateway add /v1 themselves). */
  readonly url: string;
  readonly requests: AnthropicReceived[];
  /** Sets how the next valid requests are answered (by default, "Hello there!"). */
  reply(fn: (req: AnthropicReceived) => AnthropicReply): void;
  close(): Promise<void>;
}

/** Anthropic's error envelope with a status. https://docs.claude.com/en/api/errors */
export function anthropicError(status: number, type: string, message: string, headers?: Record<string, string>): AnthropicReply {
  return { status, json: { type: "error", error: { type, message }, request_id: "req_fake" }, headers };
}

/** A whole Message as Anthropic returns it. */
export function anthropicMessage(model: string, content: Record<string, unknown>[], stopReason = "end_turn", usage: Record<string, number> = { input_tokens: 12, output_tokens: 6 }) {
  return {
    id: "msg_fake01",
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...usage },
  };
}

/** SSE frames for event payloads, named by their `type` as Anthropic names them. */
export function frames(events: Record<string, unknown>[]): string[] {
  return events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * The event payloads Anthropic streams for a whole message
 * (https://docs.claude.com/en/docs/build-with-claude/streaming): text,
 * thinking and tool input arrive in small deltas, a ping after the first
 * block starts, cumulative usage in `message_delta`, then `message_stop`.
 */
export function streamEvents(message: ReturnType<typeof anthropicMessage>): Record<string, unknown>[] {
  const { content, stop_reason, usage, ...head } = message;
  const events: Record<string, unknown>[] = [{ type: "message_start", message: { ...head, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }];
  content.forEach((block, index) => {
    const delta = (d: Record<string, unknown>) => events.push({ type: "content_block_delta", index, delta: d });
    if (block.type === "text") {
      events.push({ type: "content_block_start", index, content_block: { type: "text", text: "" } });
      for (const text of pieces(String(block.text), 5)) delta({ type: "text_delta", text });
    } else if (block.type === "thinking") {
      events.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
      for (const thinking of pieces(String(block.thinking), 8)) delta({ type: "thinking_delta", thinking });
      delta({ type: "signature_delta", signature: block.signature });
    } else if (block.type === "tool_use") {
      events.push({ type: "content_block_start", index, content_block: { ...block, input: {} } });
      delta({ type: "input_json_delta", partial_json: "" });
      for (const partial_json of pieces(JSON.stringify(block.input), 7)) delta({ type: "input_json_delta", partial_json });
    } else {
      events.push({ type: "content_block_start", index, content_block: block });
    }
    if (index === 0) events.push({ type: "ping" });
    events.push({ type: "content_block_stop", index });
  });
  events.push({ type: "message_delta", delta: { stop_reason, stop_sequence: null }, usage });
  events.push({ type: "message_stop" });
  return events;
}

/** The reply that streams a whole message. */
export function streamReply(message: ReturnType<typeof anthropicMessage>): AnthropicReply {
  return { sse: frames(streamEvents(message)) };
}

/**
 * Checks a request as the real API does before generating: the headers, the
 * body's required fields, and that every tool_result answers a tool_use of
 * the assistant turn just before it, tool results first. Returns the error
 * reply, or undefined when the request is acceptable.
 */
function check(req: AnthropicReceived): AnthropicReply | undefined {
  if (req.method !== "POST" || req.url.split("?")[0] !== "/v1/messages") return anthropicError(404, "not_found_error", "Not Found");
  // API keys go in x-api-key; the 2026 SDKs send them (and OAuth tokens) as a bearer token instead.
  if (!req.headers["x-api-key"] && !/^Bearer \S+/.test(req.headers.authorization ?? "")) {
    return anthropicError(401, "authentication_error", "x-api-key header is required");
  }
  if (!req.headers["anthropic-version"]) return anthropicError(400, "invalid_request_error", "anthropic-version: header is required");
  const b = req.body;
  if (typeof b !== "object" || b === null) return anthropicError(400, "invalid_request_error", "Request body must be a JSON object");
  if (typeof b.model !== "string") return anthropicError(400, "invalid_request_error", "model: Field required");
  if (!Number.isInteger(b.max_tokens)) return anthropicError(400, "invalid_request_error", "max_tokens: Field required");
  if (!Array.isArray(b.messages)) return anthropicError(400, "invalid_request_error", "messages: Field required");
  for (const [i, m] of b.messages.entries()) {
    if (m.role !== "user" && m.role !== "assistant") return anthropicError(400, "invalid_request_error", `messages.${i}.role: Input should be 'user' or 'assistant'`);
    const blocks: any[] = typeof m.content === "string" ? [] : m.content;
    const previous = b.messages[i - 1];
    const offered = new Set((Array.isArray(previous?.content) ? previous.content : []).filter((c: any) => c.type === "tool_use").map((c: any) => c.id));
    let seenOther = false;
    for (const [j, block] of blocks.entries()) {
      if (block.type !== "tool_result") {
        seenOther = true;
        continue;
      }
      if (m.role !== "user" || previous?.role !== "assistant" || !offered.has(block.tool_use_id)) {
        return anthropicError(400, "invalid_request_error", `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
      }
      if (seenOther) return anthropicError(400, "invalid_request_error", `messages.${i}.content.${j}: tool_result blocks must come first in the content`);
    }
  }
  return undefined;
}

/** Starts the fake on 127.0.0.1, port 0. */
export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: AnthropicReceived[] = [];
  let replier = (req: AnthropicReceived): AnthropicReply => {
    const message = anthropicMessage(req.body.model, [{ type: "text", text: "Hello there!" }]);
    return req.body.stream ? streamReply(message) : { status: 200, json: message };
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const received: AnthropicReceived = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
    requests.push(received);
    const reply = check(received) ?? replier(received);
    const headers = { "request-id": "req_fake", ...reply.headers };
    if ("json" in reply) {
      res.writeHead(reply.status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(reply.json));
      return;
    }
    res.writeHead(reply.status ?? 200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...headers });
    for (const frame of reply.sse) {
      if (res.destroyed) return;
      res.write(frame);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    }
    if (reply.destroy) setTimeout(() => res.destroy(), 20);
    else if (!reply.hang) res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (fn) => (replier = fn),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
