import type { Answered, ChatContext, ChatEngine, Surface } from "../chat/chat-engine.ts";
import type { KeyService } from "../keys/key-service.ts";
import { validateChatRequest } from "../chat/validate-chat-request.ts";
import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import { clientGone, readJsonBody, requestIdOf, sendError, sendJson, writeChunk } from "./http-io.ts";
import type { HttpRequest, HttpResponse } from "./http-types.ts";
import { DONE_FRAME, createChunkFormatter, errorFrame, toOpenAICompletion } from "./openai-wire.ts";

/** Serves `POST /v1/chat/completions` for one surface. */
export type ChatEndpoint = (req: HttpRequest, res: HttpResponse, surface: Surface) => Promise<void>;

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

/**
 * Response headers that say which provider and deployment answered, after how many
 * attempts, the time the gateway added (queueing and failed attempts
 * included), and which parameters were dropped.
 */
export function gatewayHeaders({ provider, deployment, attempts, overheadMs, dropped }: Answered): Record<string, string> {
  const headers: Record<string, string> = {
    "x-gateway-provider": provider,
    // Model names may hold any character a client sent: percent-encoded, always valid header text.
    "x-gateway-deployment": encodeURI(deployment),
    "x-gateway-attempts": String(attempts),
    "x-gateway-overhead-ms": String(overheadMs),
  };
  // Parameter names come from the client: percent-encoded, they are always valid header text.
  if (dropped.length > 0) headers["x-gateway-dropped-params"] = dropped.map(encodeURIComponent).join(",");
  return headers;
}

/**
 * Creates the OpenAI-compatible chat endpoint: JSON in, a `chat.completion`
 * or an SSE stream of `chat.completion.chunk` out, errors as OpenAI error
 * JSON. A stream that fails after it started ends with an in-band error event
 * and no `[DONE]`. A client that disconnects aborts the upstream request.
 */
export function createChatEndpoint(deps: { engine: ChatEngine; keys: KeyService; maxBodyBytes: number }): ChatEndpoint {
  const { engine } = deps;
  return async (req, res, surface) => {
    const receivedAt = performance.now();
    const requestId = requestIdOf(req);
    res.setHeader("x-request-id", requestId);
    const base = { requestId, surface, signal: clientGone(res), receivedAt };
    let chat;
    let ctx: ChatContext;
    try {
      ctx = { ...base, caller: await deps.keys.authenticate(req.headers.authorization) };
      chat = validateChatRequest(await readJsonBody(req, deps.maxBodyBytes));
    } catch (err) {
      const e = toGatewayError(err);
      engine.rejected(e, base);
      return sendError(res, e);
    }
    try {
      if (!chat.stream) {
        const answer = await engine.complete(chat, ctx);
        return sendJson(res, 200, toOpenAICompletion(answer.completion), gatewayHeaders(answer));
      }
      const started = await engine.stream(chat, ctx);
      const { events } = started;
      try {
        res.writeHead(200, { ...SSE_HEADERS, ...gatewayHeaders(started) });
      } catch (err) {
        await started.abandon(err);
        throw err;
      }
      const formatter = createChunkFormatter(chat.stream_options?.include_usage === true);
      try {
        for await (const event of events) {
          const frame = formatter.format(event);
          if (frame === "") continue;
          // Wait only when the socket asks to (back-pressure); a written chunk costs no await.
          const written = writeChunk(res, frame);
          if (written !== true && !(await written)) throw new GatewayError("canceled", "the client went away");
        }
      } catch (err) {
        const e = toGatewayError(err);
        if (e.kind !== "canceled") res.end(errorFrame(e));
        else res.end();
        return;
      }
      res.end(DONE_FRAME);
    } catch (err) {
      sendError(res, toGatewayError(err));
    }
  };
}
