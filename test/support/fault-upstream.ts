import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * How the fault upstream answers one chat request. Every case speaks OpenAI's wire format
 * (https://platform.openai.com/docs/api-reference/chat) up to the point where it misbehaves;
 * a streamed request (`"stream": true`) gets SSE, any other a JSON body.
 */
export type Fault =
  /** A whole answer: `text` (default "Hello from <name>.") in `deltas` (default 3) content chunks, paced by `gapMs`, the first one `firstTokenDelayMs` after the role chunk (a unary answer waits that long before its headers). `usage: false` leaves usage out. */
  | { kind: "ok"; text?: string; deltas?: number; gapMs?: number; firstTokenDelayMs?: number; usage?: boolean; model?: string; finishReason?: string }
  /** An error status with `body` (default: OpenAI's error envelope for the status; a string is sent as is) and extra `headers`, e.g. `retry-after`. */
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  /** A TCP reset before any header. */
  | { kind: "reset" }
  /** 200 headers, then nothing, ever. */
  | { kind: "silence" }
  /** Stream: the role chunk and `afterDeltas` content chunks, then the socket closes without a finish chunk or the chunked terminator. Unary: half the body (with the whole body's content-length), then the socket closes. */
  | { kind: "cut"; afterDeltas: number }
  /** Stream: the role chunk and `afterDeltas` content chunks, then silence with the socket open. Unary: half the body, then silence. */
  | { kind: "stall"; afterDeltas: number }
  /** Unary: 200 with a body that is not JSON. Stream: a `data: {not json` frame after the first content chunk, then the rest of a whole answer and `[DONE]`. */
  | { kind: "malformed" }
  /** Unary: 200 and a body that trickles one byte every `intervalMs` (default 100) and never ends. Stream: the role chunk, then an SSE comment every `intervalMs`, forever. */
  | { kind: "endless"; intervalMs?: number }
  /** Stream: a whole answer (finish chunk, usage when asked for) and a clean end of the response, without `data: [DONE]`, on a `Connection: close` response. Unary: a whole answer with `Connection: close`. */
  | { kind: "no-done" }
  /** Stream: `afterDeltas` content chunks, then `data: {"error":{...}}` and a clean end without `[DONE]`. Unary: 200 with the error envelope as the body. */
  | { kind: "in-band-error"; afterDeltas: number };

/** A request the fault upstream received, recorded when its body has arrived. */
export interface RecordedRequest {
  readonly method: string;
  /** The request target as sent, query included (`/v1/chat/completions`). */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The body parsed as JSON; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
  /** `performance.now()` when the request arrived. */
  readonly at: number;
  /** The behaviour a chat request was given; undefined for other paths. */
  fault?: Fault;
}

/** An OpenAI-compatible upstream on a real loopback port whose answers are scripted per request. */
export interface FaultUpstream {
  /** Base URL including /v1. */
  readonly url: string;
  /** Every request in arrival order, chat and others. */
  readonly requests: RecordedRequest[];
  /** Queues faults for the next chat requests, in order; once the queue is empty the default applies. */
  next(...faults: Fault[]): void;
  /** Sets the behaviour when no queued fault remains (initially `{ kind: "ok" }`); a function decides per request. */
  setDefault(fault: Fault | ((req: RecordedRequest) => Fault)): void;
  /** Makes `GET /v1/models` (the health probe) answer with this status; 200, the initial one, answers the model list. */
  setModelsStatus(status: number): void;
  readonly chatCount: number;
  readonly modelsCount: number;
  /** Stops listening (later connections are refused) and destroys open connections; queue, default and records are kept. */
  stop(): Promise<void>;
  /** Listens again on the same port after `stop()`; rejects after `close()` or if the port was taken meanwhile. */
  restart(): Promise<void>;
  /** Stops for good. Never waits for a client: open connections are destroyed and pending timers cleared. */
  close(): Promise<void>;
}

/** Options of {@link startFaultUpstream}. */
export interface FaultUpstreamOptions {
  /** Names the upstream in its default answer text ("Hello from <name>.") and in `owned_by`; default "upstream". */
  name?: string;
  /** The ids `GET /v1/models` lists; default `["gpt-4o-mini"]`. */
  models?: string[];
}

/** Starts a fault upstream on 127.0.0.1, port 0; it answers every chat request with `{ kind: "ok" }` until told otherwise. */
export async function startFaultUpstream(options: FaultUpstreamOptions = {}): Promise<FaultUpstream> {
  const name = options.name ?? "upstream";
  const models = options.models ?? ["gpt-4o-mini"];
  const requests: RecordedRequest[] = [];
  const queue: Fault[] = [];
  let fallback: Fault | ((req: RecordedRequest) => Fault) = { kind: "ok" };
  let modelsStatus = 200;
  let chatCount = 0;
  let modelsCount = 0;
  let sequence = 0;
  let closed = false;
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => void handle(req, res));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = performance.now();
    const gone = new AbortController();
    res.once("close", () => gone.abort());
    res.on("error", () => {});
    let text = "";
    try {
      for await (const piece of req) text += String(piece);
    } catch {
      return; // the client went away while sending
    }
    const record: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: parseBody(text), at };
    requests.push(record);
    const path = new URL(record.path, "http://upstream").pathname;
    if (record.method === "GET" && path.endsWith("/models")) {
      modelsCount++;
      const list = { object: "list", data: models.map((id) => ({ id, object: "model", created: 1700000000, owned_by: name })) };
      return sendJson(res, modelsStatus, modelsStatus === 200 ? list : errorEnvelope(modelsStatus));
    }
    if (record.method !== "POST" || !path.endsWith("/chat/completions")) {
      return sendJson(res, 404, errorEnvelope(404, `Unknown request URL: ${record.method} ${path}.`, "unknown_url"));
    }
    chatCount++;
    const fault = queue.shift() ?? (typeof fallback === "function" ? fallback(record) : fallback);
    record.fault = fault;
    try {
      await play(fault, exchange(record, res, gone.signal, `Hello from ${name}.`, ++sequence));
    } catch {
      res.destroy(); // a pause was aborted: the connection is gone already
    }
  }

  async function listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  async function stop(): Promise<void> {
    if (!server.listening) return;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await stopped;
  }

  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    next: (...faults) => void queue.push(...faults),
    setDefault: (fault) => void (fallback = fault),
    setModelsStatus: (status) => void (modelsStatus = status),
    get chatCount() {
      return chatCount;
    },
    get modelsCount() {
      return modelsCount;
    },
    stop,
    restart: async () => {
      if (closed) throw new Error("the fault upstream is closed");
      if (!server.listening) await listen(port);
    },
    close: async () => {
      closed = true;
      await stop();
    },
  };
}

/** A base URL (with /v1) on which nothing listens: connecting to it is refused. */
export async function refusedUrl(): Promise<string> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

/** One chat request being answered: where to write, when to give up, and the answer's fixed parts. */
interface Exchange {
  readonly res: http.ServerResponse;
  /** Aborted when the connection closes, by the client or by `stop()`. */
  readonly signal: AbortSignal;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly model: string;
  readonly id: string;
  readonly created: number;
  readonly text: string;
}

function exchange(record: RecordedRequest, res: http.ServerResponse, signal: AbortSignal, text: string, n: number): Exchange {
  const body = isObject(record.body) ? record.body : {};
  const options = isObject(body.stream_options) ? body.stream_options : {};
  return {
    res,
    signal,
    stream: body.stream === true,
    includeUsage: options.include_usage === true,
    model: typeof body.model === "string" ? body.model : "unknown",
    id: `chatcmpl-fault${n}`,
    created: Math.floor(Date.now() / 1000),
    text,
  };
}

async function play(fault: Fault, ex: Exchange): Promise<void> {
  const { res } = ex;
  switch (fault.kind) {
    case "ok": {
      const pieces = split(fault.text ?? ex.text, fault.deltas ?? 3);
      const answer = { ...ex, model: fault.model ?? ex.model };
      const finish = fault.finishReason ?? "stop";
      const usage = fault.usage ?? true;
      if (!ex.stream) {
        await pause(fault.firstTokenDelayMs, ex.signal);
        return sendJson(res, 200, completion(answer, pieces, finish, usage));
      }
      const s = sse(answer);
      startStream(res);
      await write(res, s.role());
      await pause(fault.firstTokenDelayMs, ex.signal);
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await pause(fault.gapMs, ex.signal);
        await write(res, s.content(piece));
      }
      return void res.end(s.finish(finish, usage) + "data: [DONE]\n\n");
    }
    case "status": {
      const body = fault.body ?? errorEnvelope(fault.status);
      res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
      return void res.end(typeof body === "string" ? body : JSON.stringify(body));
    }
    case "reset":
      return void res.socket?.resetAndDestroy();
    case "silence":
      res.writeHead(200, { "content-type": ex.stream ? "text/event-stream" : "application/json" });
      return void res.flushHeaders();
    case "cut":
    case "stall": {
      if (ex.stream) {
        const s = sse(ex);
        startStream(res);
        await write(res, s.role() + split(ex.text, fault.afterDeltas + 1).slice(0, fault.afterDeltas).map(s.content).join(""));
      } else {
        const body = JSON.stringify(completion(ex, [ex.text], "stop", true));
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        await write(res, body.slice(0, body.length >> 1));
      }
      if (fault.kind === "cut") res.socket?.destroy();
      return;
    }
    case "malformed": {
      if (!ex.stream) return sendJson(res, 200, '{"id":"chatcmpl-fault","object":"chat.completion", not json');
      const s = sse(ex);
      const [first = "", ...rest] = split(ex.text, 3);
      startStream(res);
      return void res.end(s.role() + s.content(first) + "data: {not json\n\n" + rest.map(s.content).join("") + s.finish("stop", true) + "data: [DONE]\n\n");
    }
    case "endless": {
      const body = ex.stream ? sse(ex).role() : JSON.stringify(completion(ex, [ex.text], "stop", true));
      res.writeHead(200, { "content-type": ex.stream ? "text/event-stream" : "application/json" });
      if (ex.stream) await write(res, body);
      else res.flushHeaders();
      for (let i = 0; !ex.signal.aborted; i++) {
        await pause(Math.max(1, fault.intervalMs ?? 100), ex.signal);
        await write(res, ex.stream ? ": keep-alive\n\n" : (body[i] ?? " "));
      }
      return;
    }
    case "no-done": {
      const pieces = split(ex.text, 3);
      if (!ex.stream) return sendJson(res, 200, completion(ex, pieces, "stop", true), { connection: "close" });
      const s = sse(ex);
      startStream(res, { connection: "close" });
      return void res.end(s.role() + pieces.map(s.content).join("") + s.finish("stop", true));
    }
    case "in-band-error": {
      const error = errorEnvelope(500);
      if (!ex.stream) return sendJson(res, 200, error);
      const s = sse(ex);
      startStream(res);
      const pieces = split(ex.text, fault.afterDeltas + 1).slice(0, fault.afterDeltas);
      return void res.end(s.role() + pieces.map(s.content).join("") + `data: ${JSON.stringify(error)}\n\n`);
    }
    default: {
      const unknown: never = fault;
      throw new Error(`unknown fault ${JSON.stringify(unknown)}`);
    }
  }
}

/** The frames of one streamed answer, as OpenAI writes them (every chunk carries `usage: null` when usage was asked for). */
function sse(ex: Exchange) {
  const head = { id: ex.id, object: "chat.completion.chunk", created: ex.created, model: ex.model };
  const frame = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
  const chunk = (delta: unknown, finish: string | null) =>
    frame({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(ex.includeUsage ? { usage: null } : {}) });
  let contents = 0;
  return {
    role: () => chunk({ role: "assistant", content: "", refusal: null }, null),
    content: (text: string) => (contents++, chunk({ content: text }, null)),
    finish: (reason: string, usage: boolean) =>
      chunk({}, reason) + (usage && ex.includeUsage ? frame({ ...head, choices: [], usage: usageOf(contents) }) : ""),
  };
}

function completion(ex: Exchange, pieces: string[], finish: string, usage: boolean) {
  return {
    id: ex.id,
    object: "chat.completion",
    created: ex.created,
    model: ex.model,
    choices: [{ index: 0, message: { role: "assistant", content: pieces.join(""), refusal: null }, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage: usageOf(pieces.length) } : {}),
  };
}

function usageOf(completionTokens: number) {
  return { prompt_tokens: 9, completion_tokens: completionTokens, total_tokens: 9 + completionTokens };
}

/** OpenAI's error envelope (https://platform.openai.com/docs/guides/error-codes) for a status. */
function errorEnvelope(status: number, message?: string, code?: string) {
  const type = status === 429 ? "requests" : status === 529 ? "overloaded_error" : status >= 500 ? "server_error" : "invalid_request_error";
  const defaultCode = status === 429 ? "rate_limit_exceeded" : status === 401 ? "invalid_api_key" : status === 404 ? "model_not_found" : null;
  const text = message ?? (status === 529 ? "Overloaded" : `${http.STATUS_CODES[status] ?? "Error"} (fault upstream)`);
  return { error: { message: text, type, param: null, code: code ?? defaultCode } };
}

/** `text` in exactly `n` roughly equal pieces (empty ones when the text is shorter than `n`). */
function split(text: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => text.slice(Math.floor((i * text.length) / n), Math.floor(((i + 1) * text.length) / n)));
}

function startStream(res: http.ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...headers });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Resolves once `data` has reached the socket (or the response is gone). */
function write(res: http.ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => (res.destroyed ? resolve() : res.write(data, () => resolve())));
}

/** Waits `ms`; rejects when the connection closes first, so no timer outlives it. */
async function pause(ms: number | undefined, signal: AbortSignal): Promise<void> {
  if (ms) await sleep(ms, undefined, { signal });
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
