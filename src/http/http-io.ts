import { randomUUID } from "node:crypto";
import { GatewayError } from "../errors/gateway-error.ts";
import type { HttpRequest, HttpResponse } from "./http-types.ts";
import { toOpenAIError } from "./openai-wire.ts";

/**
 * Reads a JSON request body of at most `maxBytes`.
 * @throws GatewayError `payload_too_large` over the limit, `invalid_request` for bad JSON.
 */
export async function readJsonBody(req: HttpRequest, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"]);
  const tooLarge = () =>
    new GatewayError("payload_too_large", `the request body is larger than the limit of ${maxBytes} bytes`);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new GatewayError("invalid_request", "the request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError("invalid_request", "the request body is not valid JSON");
  }
}

/** Sends a JSON response. */
export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends an error as OpenAI error JSON with its status (and `Retry-After` where known). */
export function sendError(res: HttpResponse, err: GatewayError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const headers: Record<string, string> = {};
  if (err.retryAfterSeconds !== undefined) headers["retry-after"] = String(err.retryAfterSeconds);
  if (err.attempts !== undefined) headers["x-gateway-attempts"] = String(err.attempts);
  sendJson(res, err.status, toOpenAIError(err), headers);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is sane, otherwise a new UUID. */
export function requestIdOf(req: HttpRequest): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/** An AbortSignal that fires when the client goes away before the response is finished. */
export function clientGone(res: HttpResponse): AbortSignal {
  const ac = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}

/**
 * Writes a chunk, waiting while the client's buffer is full, so memory stays
 * flat for slow readers. Resolves false when the client went away.
 */
export function writeChunk(res: HttpResponse, chunk: string): Promise<boolean> | boolean {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}
