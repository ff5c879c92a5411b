import type { UpstreamResponse } from "../../upstream/upstream-client.ts";
import { GatewayError } from "../../errors/gateway-error.ts";
import type { ChatRequest } from "../../chat/chat-types.ts";
import { readUpstreamJson, streamUpstream } from "../upstream-answer.ts";
import type { AdapterDeps, ProviderAdapter, UpstreamCall } from "../provider.ts";
import { mapOpenAIErrorText, parseRetryAfter } from "./openai-errors.ts";
import { decodeOpenAICompletion } from "./openai-response.ts";
import { createOpenAIStreamDecoder } from "./openai-stream-decoder.ts";

/**
 * Builds the upstream body: the client's request as sent (fields the gateway
 * does not name included), with the upstream model name. Streams always ask
 * for usage so that every request can be accounted; the gateway drops that
 * event again for clients that did not ask for it.
 * https://platform.openai.com/docs/api-reference/chat/create
 */
export function buildOpenAIRequestBody(req: ChatRequest, model: string, maxTokens?: number): Record<string, unknown> {
  const { extra, model: _requested, stream_options, drop_params: _drop, fallbacks: _fallbacks, ...named } = req;
  const body: Record<string, unknown> = { ...extra, ...named, model };
  if (maxTokens !== undefined && req.max_completion_tokens === undefined && req.max_tokens === undefined) body.max_completion_tokens = maxTokens;
  if (req.stream) body.stream_options = { ...stream_options, include_usage: true };
  return body;
}

async function failure(res: UpstreamResponse): Promise<GatewayError> {
  const text = await res.body.text().catch(() => "");
  return mapOpenAIErrorText(res.status, text, parseRetryAfter(res.headers["retry-after"]));
}

/** Creates the adapter for OpenAI's chat completions API and every API compatible with it. */
export function createOpenAIAdapter(deps: Pick<AdapterDeps, "upstream">): ProviderAdapter {
  function send(call: UpstreamCall): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: call.request.stream ? "text/event-stream" : "application/json" };
    if (call.provider.apiKey !== "") headers.authorization = `Bearer ${call.provider.apiKey}`;
    const body = JSON.stringify(buildOpenAIRequestBody(call.request, call.model, call.maxTokens));
    return deps.upstream.send("POST", `${call.baseUrl}/chat/completions`, headers, body, call.signal);
  }

  return {
    async complete(call) {
      const res = await send(call);
      if (res.status >= 400) throw await failure(res);
      const json = await readUpstreamJson(res);
      return decodeOpenAICompletion(json);
    },
    stream(call) {
      const open = async () => {
        const res = await send(call);
        if (res.status >= 400) throw await failure(res);
        return res;
      };
      return streamUpstream(open, createOpenAIStreamDecoder(), call);
    },
  };
}
