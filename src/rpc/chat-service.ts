import { randomUUID } from "node:crypto";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { ChatService } from "../../gen/gateway/v1/chat_pb.js";
import type { ChatContext, ChatEngine } from "../chat/chat-engine.ts";
import { validateChatRequest } from "../chat/validate-chat-request.ts";
import { toGatewayError } from "../errors/gateway-error.ts";
import { gatewayHeaders } from "../http/chat-endpoint.ts";
import type { ModelRouter } from "../routing/model-router.ts";
import { chatBodyFromProto, completionToProto, eventToProto } from "./chat-proto-mapping.ts";
import { toConnectError, withConnectErrors } from "./connect-errors.ts";

function context(ctx: HandlerContext): ChatContext {
  const given = ctx.requestHeader.get("x-request-id");
  const requestId = given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
  ctx.responseHeader.set("x-request-id", requestId);
  return { requestId, surface: "connect", signal: ctx.signal };
}

/**
 * Registers `gateway.v1.ChatService`: the same engine, translations and
 * errors as the REST endpoints, with Connect codes instead of HTTP statuses.
 */
export function registerChatService(router: ConnectRouter, deps: { engine: ChatEngine; models: ModelRouter }): void {
  const { engine } = deps;
  const parse = (body: () => Record<string, unknown>, chat: ChatContext) => {
    try {
      return validateChatRequest(body());
    } catch (err) {
      engine.rejected(toGatewayError(err), chat);
      throw err;
    }
  };
  router.service(ChatService, {
    createChatCompletion(req, ctx) {
      return withConnectErrors(async () => {
        const chat = context(ctx);
        const request = parse(() => chatBodyFromProto(req, false), chat);
        const { provider, dropped, completion } = await engine.complete(request, chat);
        for (const [k, v] of Object.entries(gatewayHeaders(provider, dropped))) ctx.responseHeader.set(k, v);
        return completionToProto(completion, provider);
      });
    },
    async *streamChatCompletion(req, ctx) {
      try {
        const chat = context(ctx);
        const request = parse(() => chatBodyFromProto(req, true), chat);
        const includeUsage = request.stream_options?.include_usage === true;
        const { provider, dropped, events } = await engine.stream(request, chat);
        for (const [k, v] of Object.entries(gatewayHeaders(provider, dropped))) ctx.responseHeader.set(k, v);
        for await (const e of events) {
          if (e.type === "usage" && !includeUsage) continue;
          yield { event: eventToProto(e, provider) };
        }
      } catch (err) {
        throw toConnectError(err);
      }
    },
    async listModels() {
      return { models: deps.models.list().map((m) => ({ id: m.id, provider: m.provider })) };
    },
  });
}
