import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { fixtureBody } from "./fixtures.ts";

/** A request the fake Gemini upstream received. */
export interface GeminiReceived {
  method: string;
  /** Path and query as sent, such as `/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`. */
  url: string;
  /** The model named in the path (`models/{model}:…`), or "" when the path names none. */
  model: string;
  /** Whether the path is `:streamGenerateContent`. */
  stream: boolean;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** How the fake answers one request: a status and JSON body, or an SSE body of raw frames. */
export type GeminiReply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | {
      status?: number;
      /** Raw body pieces, written in order (see {@link sseFrames}). */
      sse: string[];
      delayMs?: number;
      /** Resets the connection after the last piece instead of ending the response: a stream cut mid-way. */
      cut?: boolean;
      headers?: Record<string, string>;
    };

/** A fake Gemini API (Google AI, `/v1beta` and `/v1`) on a real loopback port. */
export interface FakeGemini {
  /** Origin without a path, as `GOOGLE_BASE_URL` and the SDK's `httpOptions.baseUrl` take it. */
  readonly url: string;
  readonly requests: GeminiReceived[];
  /** Sets how the next requests are answered (by default, a text answer). */
  reply(fn: (req: GeminiReceived) => GeminiReply): void;
  close(): Promise<void>;
}

/** Renders `GenerateContentResponse` objects as Gemini's SSE frames: `data: <json>` and a CRLF blank line. */
export function sseFrames(responses: unknown[]): string[] {
  return responses.map((r) => `data: ${JSON.stringify(r)}\r\n\r\n`);
}

/** Google's error envelope. */
export function geminiError(code: number, status: string, message: string, details: unknown[] = []) {
  return { error: { code, message, status, details } };
}

/** Usage metadata as Gemini reports it (total = prompt + candidates + thoughts). */
export function usageMetadata(prompt: number, candidates: number, thoughts = 0) {
  const u: Record<string, number> = { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates + thoughts };
  if (thoughts > 0) u.thoughtsTokenCount = thoughts;
  return u;
}

/** A whole text answer. */
export function textResponse(text: string, model = "gemini-2.0-flash", usage = usageMetadata(9, 3)) {
  return {
    candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: "STOP", index: 0 }],
    usageMetadata: usage,
    modelVersion: model,
    responseId: "fake-response-1",
  };
}

/** A function call as Gemini makes it: whole arguments, no id, maybe a thought signature. */
export interface FakeFunctionCall {
  name: string;
  args: Record<string, unknown>;
  thoughtSignature?: string;
}

/** A whole answer that calls functions (finish reason `STOP`, as Gemini sends it). */
export function functionCallResponse(calls: FakeFunctionCall[], model = "gemini-2.5-flash", usage = usageMetadata(20, 10, 15)) {
  return {
    candidates: [
      {
        content: {
          role: "model",
          parts: calls.map((c) => (c.thoughtSignature ? { functionCall: { name: c.name, args: c.args }, thoughtSignature: c.thoughtSignature } : { functionCall: { name: c.name, args: c.args } })),
        },
        finishReason: "STOP",
        finishMessage: "Model generated function call(s).",
        index: 0,
      },
    ],
    usageMetadata: usage,
    modelVersion: model,
    responseId: "fake-response-calls",
  };
}

/** Stream chunks of a text answer: one per piece, partial usage on all but the last, which has `STOP` and full usage. */
export function textChunks(pieces: string[], model = "gemini-2.0-flash", usage = usageMetadata(9, pieces.length)) {
  return pieces.map((text, i) => {
    const last = i === pieces.length - 1;
    const candidate: Record<string, unknown> = { content: { role: "model", parts: [{ text }] }, index: 0 };
    if (last) candidate.finishReason = "STOP";
    return {
      candidates: [candidate],
      usageMetadata: last ? usage : { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount },
      modelVersion: model,
      responseId: "fake-stream-1",
    };
  });
}

function sections(name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of fixtureBody(name).split("\n")) {
    const head = /^## (REQUEST|RESPONSE)(?: (\d+))?:/.exec(line);
    if (head) out.set(`${head[1]} ${head[2] ?? "1"}`, (current = []));
    else if (line.startsWith("## ")) continue;
    else current?.push(line);
  }
  return out;
}

/**
 * The wire body of `## RESPONSE n` in a fixture of the form the recorded
 * Gemini fixtures use, each line ended by CRLF as Gemini frames its SSE.
 */
export function fixtureResponse(name: string, n = 1): string {
  const lines = sections(name).get(`RESPONSE ${n}`);
  if (!lines) throw new Error(`fixture ${name} has no RESPONSE ${n}`);
  while (lines.at(-1) === "") lines.pop();
  return lines.map((l) => `${l}\r\n`).join("") + "\r\n";
}

/** The JSON body of `## REQUEST n` in such a fixture. */
export function fixtureRequest(name: string, n = 1): any {
  const lines = sections(name).get(`REQUEST ${n}`);
  if (!lines) throw new Error(`fixture ${name} has no REQUEST ${n}`);
  return JSON.parse(lines.join("\n"));
}

/** Starts the fake on 127.0.0.1, port 0. */
export async function startFakeGemini(): Promise<FakeGemini> {
  const requests: GeminiReceived[] = [];
  let replier: (req: GeminiReceived) => GeminiReply = (req) =>
    req.stream ? { sse: sseFrames(textChunks(["Hello", " there", "!"])) } : { status: 200, json: textResponse("Hello there!") };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = req.url ?? "";
    const route = /^\/v1(?:beta)?\/models\/([^/:?]+):(generateContent|streamGenerateContent)(\?alt=sse)?$/.exec(url);
    const received: GeminiReceived = {
      method: req.method ?? "",
      url,
      model: route ? decodeURIComponent(route[1] as string) : "",
      stream: route?.[2] === "streamGenerateContent",
      headers: req.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(received);
    const reply: GeminiReply = route
      ? replier(received)
      : { status: 404, json: geminiError(404, "NOT_FOUND", `The requested URL ${url} was not found on this server.`) };
    if ("json" in reply) {
      // Gemini answers errors with plain JSON, even on `alt=sse`.
      res.writeHead(reply.status, { "content-type": "application/json; charset=UTF-8", ...reply.headers });
      res.end(JSON.stringify(reply.json));
      return;
    }
    res.writeHead(reply.status ?? 200, { "content-type": "text/event-stream", ...reply.headers });
    for (const piece of reply.sse) {
      if (res.destroyed) return;
      res.write(piece);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    }
    if (reply.cut) {
      // Let the pieces reach the wire, then reset the connection without the chunked terminator.
      await new Promise((r) => setTimeout(r, 50));
      res.socket?.destroy();
    } else res.end();
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
