import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** A request the fake upstream received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** How the fake answers one request: a status and JSON body, or an SSE stream of raw frames. */
export type FakeReply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | {
      status?: number;
      sse: string[];
      delayMs?: number;
      /** Keeps the connection open after the last frame. */
      hang?: boolean;
      /** Resets the connection after the last frame instead of ending the response: a stream cut mid-way. */
      cut?: boolean;
      headers?: Record<string, string>;
    };

/** A fake OpenAI-compatible upstream on a real loopback port. */
export interface FakeOpenAI {
  /** Base URL including /v1. */
  readonly baseUrl: string;
  readonly requests: ReceivedRequest[];
  /** Sets how the next requests are answered (by default, a text completion). */
  reply(fn: (req: ReceivedRequest) => FakeReply): void;
  /** Resolves once the client's connection for a streamed reply has closed. */
  readonly closedStreams: number;
  close(): Promise<void>;
}

/** Chunk frames of a streamed text answer, as OpenAI sends them (role chunk, content, finish, usage, [DONE]). */
export function textStream(model: string, parts: string[], usage = { prompt_tokens: 9, completion_tokens: parts.length, total_tokens: 9 + parts.length }): string[] {
  const head = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1700000000, model };
  const chunk = (delta: unknown, finish: string | null) => `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  return [
    chunk({ role: "assistant", content: "", refusal: null }, null),
    ...parts.map((p) => chunk({ content: p }, null)),
    chunk({}, "stop"),
    `data: ${JSON.stringify({ ...head, choices: [], usage })}\n\n`,
    "data: [DONE]\n\n",
  ];
}

/** A function call an answer asks for. */
export interface FakeToolCall {
  id: string;
  name: string;
  /** The arguments as the JSON text the model writes. */
  arguments: string;
}

/**
 * Chunk frames of a streamed answer that calls tools, as OpenAI sends them:
 * the role chunk, then per call a first fragment with id, type and name and
 * the arguments in two further fragments, the `tool_calls` finish, usage, [DONE].
 */
export function toolCallStream(model: string, calls: FakeToolCall[]): string[] {
  const head = { id: "chatcmpl-fake-tools", object: "chat.completion.chunk", created: 1700000000, model };
  const chunk = (delta: unknown, finish: string | null) => `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const frames = [chunk({ role: "assistant", content: null }, null)];
  calls.forEach((call, index) => {
    const half = Math.floor(call.arguments.length / 2);
    frames.push(chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }, null));
    for (const part of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      frames.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }, null));
    }
  });
  frames.push(chunk({}, "tool_calls"));
  frames.push(`data: ${JSON.stringify({ ...head, choices: [], usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 } })}\n\n`);
  frames.push("data: [DONE]\n\n");
  return frames;
}

/** A whole completion that calls tools, as OpenAI returns it. */
export function toolCallCompletion(model: string, calls: FakeToolCall[]) {
  return {
    id: "chatcmpl-fake-tools",
    object: "chat.completion",
    created: 1700000000,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
        },
        logprobs: null,
        finish_reason: "tool_calls",
      },
    ],
    usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
  };
}

/** A whole text completion as OpenAI returns it. */
export function textCompletion(model: string, content: string) {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 1700000000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 0 } },
  };
}

/** Starts the fake on 127.0.0.1, port 0. */
export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: ReceivedRequest[] = [];
  let closedStreams = 0;
  let replier: (req: ReceivedRequest) => FakeReply = (req) =>
    req.body?.stream
      ? { sse: textStream(req.body.model, ["Hello", " there", "!"]) }
      : { status: 200, json: textCompletion(req.body?.model ?? "unknown", "Hello there!") };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const received: ReceivedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: text ? JSON.parse(text) : undefined };
    requests.push(received);
    const reply = replier(received);
    if ("json" in reply) {
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      res.end(JSON.stringify(reply.json));
      return;
    }
    res.writeHead(reply.status ?? 200, { "content-type": "text/event-stream", ...reply.headers });
    res.once("close", () => closedStreams++);
    for (const frame of reply.sse) {
      if (res.destroyed) return;
      res.write(frame);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    }
    if (reply.cut) {
      // Let the frames reach the wire, then reset the connection without the chunked terminator.
      await new Promise((r) => setTimeout(r, 50));
      res.socket?.destroy();
    } else if (!reply.hang) res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    reply: (fn) => (replier = fn),
    get closedStreams() {
      return closedStreams;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
