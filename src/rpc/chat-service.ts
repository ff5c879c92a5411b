import { randomUUID } from "node:crypto";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { ChatService } from "../../gen/gateway/v1/chat_pb.js";
import type { ChatContext, ChatEngine } from "../chat/chat-engine.ts";
import { validateChatRequest } from "../chat/validate-chat-request.ts";
import { toGatewayError } from "../errors/gateway-error.ts";
import { gatewayHeaders } from "../http/chat-endpoint.ts";
import type { KeyService } from "../keys/key-service.ts";
import type { ModelRouter } from "../routing/model-router.ts";
import { chatBodyFromProto, completionToProto, eventToProto } from "./chat-proto-mapping.ts";
import { toConnectError, withConnectErrors } from "./connect-errors.ts";

function baseContext(ctx: HandlerContext): Omit<ChatContext, "caller"> {
  const given = ctx.requestHeader.get("x-request-id");
  const requestId = given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
  ctx.responseHeader.set("x-request-id", requestId);
  return { requestId, surface: "connect", signal: ctx.signal, receivedAt: performance.now() };
}

/**
 * Registers `gateway.v1.ChatService`: the same engine, translations and
 * errors as the REST endpoints, with Connect codes instead of HTTP statuses.
 */
export function registerChatService(router: ConnectRouter, deps: { engine: ChatEngine; models: ModelRouter; keys: KeyService }): void {
  const { engine } = deps;
  /** Authenticates the caller and checks the request, counting failures as rejected requests. */
  const admit = async (ctx: HandlerContext, body: () => Record<string, unknown>) => {
    const base = baseContext(ctx);
    try {
      const chat: ChatContext = { ...base, caller: await deps.keys.authenticate(ctx.requestHeader.get("authorization")) };
      return { chat, request: validateChatRequest(body()) };
    } catch (err) {
      engine.rejected(toGatewayError(err), base);
      throw err;
    }
  };
  router.service(ChatService, {
    createChatCompletion(req, ctx) {
      return withConnectErrors(async () => {
        const { chat, request } = await admit(ctx, () => chatBodyFromProto(req, false));
        const answer = await engine.complete(request, chat);
        for (const [k, v] of Object.entries(gatewayHeaders(answer))) ctx.responseHeader.set(k, v);
        return completionToProto(answer.completion, answer.provider);
      });
    },
    async *streamChatCompletion(req, ctx) {
      try {
        const { chat, request } = await admit(ctx, () => chatBodyFromProto(req, true));
        const includeUsage = request.stream_options?.include_usage === true;
        const started = await engine.stream(request, chat);
        const { provider, events } = started;
        try {
          for (const [k, v] of Object.entries(gatewayHeaders(started))) ctx.responseHeader.set(k, v);
        } catch (err) {
          await started.abandon(err);
          throw err;
        }
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
