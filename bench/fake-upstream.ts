/**
 * A fast fake OpenAI upstream, run as its own process by the bench suite.
 * `POST .../chat/completions` answers a `chat.completion` after the mode's
 * delay, or with `"stream": true` an SSE stream: the role chunk and the first
 * delta after the delay, the other deltas paced `paceMs` apart (with pace 0 as
 * fast as the reader takes them), then a finish chunk, a usage chunk and
 * `data: [DONE]`. `POST /_bench/mode` sets the {@link FakeMode};
 * `GET /_bench/stats` counts the requests served. Prints `{"port":N}` once
 * listening on `PORT` (0 for any) of 127.0.0.1.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** How the fake answers; every field optional when set over `/_bench/mode`. */
export interface FakeMode {
  /** Before the answer (unary) or the first chunk (stream). */
  readonly delayMs: number;
  readonly deltas: number;
  readonly paceMs: number;
  /** Characters of content per delta. */
  readonly deltaBytes: number;
}

const ID = "chatcmpl-bench";
const MODEL = "gpt-4o-mini";
let mode: FakeMode = { delayMs: 0, deltas: 64, paceMs: 20, deltaBytes: 6 };
const stats = { requests: 0, streams: 0, unary: 0 };

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  Buffer.from(`data: ${JSON.stringify({ id: ID, object: "chat.completion.chunk", created: 1700000000, model: MODEL, system_fingerprint: "fp_bench", choices, ...extra })}\n\n`);

function frames(m: FakeMode) {
  const content = "hello ".repeat(Math.ceil(m.deltaBytes / 6)).slice(0, m.deltaBytes);
  const delta = chunk([{ index: 0, delta: { content }, logprobs: null, finish_reason: null }]);
  const role = chunk([{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]);
  const usage = { prompt_tokens: 9, completion_tokens: m.deltas, total_tokens: 9 + m.deltas };
  const end = Buffer.concat([
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]),
    chunk([], { usage }),
    Buffer.from("data: [DONE]\n\n"),
  ]);
  const unary = Buffer.from(JSON.stringify({
    id: ID, object: "chat.completion", created: 1700000000, model: MODEL, system_fingerprint: "fp_bench",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello! How can I help you today?", refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 },
  }));
  const first = Buffer.concat([role, delta]);
  // A known length spares the fake chunked framing on every write (it is the load side's cost, not a system's).
  const streamLength = first.length + Math.max(0, m.deltas - 1) * delta.length + end.length;
  return { first, delta, end, unary, streamLength };
}
let f = frames(mode);

const sseHead = (fr: typeof f) => ({ "content-type": "text/event-stream", "cache-control": "no-cache", "content-length": fr.streamLength });

function paced(res: http.ServerResponse, m: FakeMode, fr: typeof f): void {
  const start = performance.now();
  let sent = 1;
  let timer: NodeJS.Timeout | undefined;
  res.once("close", () => clearTimeout(timer));
  const next = () => {
    if (res.destroyed) return;
    if (sent < m.deltas) {
      res.write(fr.delta);
      sent++;
    }
    if (sent >= m.deltas) return void res.end(fr.end);
    // Against an absolute schedule, so timer lateness does not add up.
    timer = setTimeout(next, Math.max(0, start + sent * m.paceMs - performance.now()));
  };
  res.writeHead(200, sseHead(fr));
  res.write(fr.first);
  if (m.deltas <= 1) return void res.end(fr.end);
  timer = setTimeout(next, m.paceMs);
}

function flood(res: http.ServerResponse, m: FakeMode, fr: typeof f): void {
  let sent = 1;
  const pump = () => {
    while (sent < m.deltas && !res.destroyed) {
      sent++;
      if (!res.write(fr.delta)) return void res.once("drain", pump);
    }
    if (!res.destroyed) res.end(fr.end);
  };
  res.writeHead(200, sseHead(fr));
  res.write(fr.first);
  pump();
}

function answer(res: http.ServerResponse, stream: boolean): void {
  const m = mode;
  const fr = f;
  const go = () => {
    if (res.destroyed) return;
    if (!stream) {
      stats.unary++;
      res.writeHead(200, { "content-type": "application/json", "content-length": fr.unary.length });
      return void res.end(fr.unary);
    }
    stats.streams++;
    if (m.paceMs > 0) paced(res, m, fr);
    else flood(res, m, fr);
  };
  if (m.delayMs > 0) setTimeout(go, m.delayMs);
  else go();
}

function readBody(req: http.IncomingMessage, done: (body: string) => void): void {
  const parts: Buffer[] = [];
  req.on("data", (b: Buffer) => parts.push(b));
  req.on("end", () => done(parts.length === 1 ? (parts[0] as Buffer).toString() : Buffer.concat(parts).toString()));
}

const server = http.createServer({ keepAliveTimeout: 120_000, headersTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
  const url = req.url ?? "";
  if (req.method === "POST" && url.endsWith("/chat/completions")) {
    stats.requests++;
    return readBody(req, (body) => {
      let stream = false;
      try {
        stream = (JSON.parse(body) as { stream?: unknown }).stream === true;
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        return void res.end('{"error":{"message":"bad json","type":"invalid_request_error"}}');
      }
      answer(res, stream);
    });
  }
  if (req.method === "POST" && url === "/_bench/mode") {
    return readBody(req, (body) => {
      mode = { ...mode, ...(JSON.parse(body) as Partial<FakeMode>) };
      f = frames(mode);
      res.writeHead(204).end();
    });
  }
  if (url === "/_bench/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    return void res.end(JSON.stringify(stats));
  }
  req.resume();
  res.writeHead(404).end();
});
process.on("SIGTERM", () => process.exit(0));
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", 1024, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
