/**
 * The Gemini adapter: OpenAI chat completions over Google's Gemini API
 * (`models/{model}:generateContent` and `:streamGenerateContent?alt=sse`,
 * key in `x-goog-api-key`). https://ai.google.dev/api/generate-content
 *
 * Tool call ids and thought signatures. Gemini function calls usually have
 * no id on Google AI, and on thinking models (2.5, 3) a call comes with a
 * `thoughtSignature` that must be sent back with that call on the next
 * request, or Gemini rejects it (3.x) or reasons worse (2.5). The gateway
 * gives each call an id `call_<16 alphanumerics>` and appends to it what must
 * come back: Gemini's own call id if it sent one (`_i<hex>`), the signature
 * if the call had one (`_s<base64url>`; see `createGeminiToolCallId`). Such
 * ids are long (a signature is often 1 KB or more): clients and upstreams
 * that limit tool call ids to a few dozen characters cannot carry them.
 * A client returns the signature by doing what
 * every OpenAI client does anyway: echoing the assistant message's
 * `tool_calls[].id` (LangChain, which sends no unknown message fields back,
 * included). Tool results find their function name again from the earlier
 * assistant tool call with their `tool_call_id`.
 *
 * Other signatures (on text parts, as Gemini sends them when no function is
 * called) reach the client as `reasoning_signature` on the assistant message
 * (unary) or on a delta (streamed); a client returns them by sending the
 * assistant message back with `reasoning_signature` unchanged. Thoughts
 * (`thought: true` parts, returned when `reasoning_effort` asks for
 * thinking) reach the client as `reasoning_content`; they are not sent back
 * to Gemini, which needs only the signatures.
 */
import type { ChatRequest } from "../../chat/chat-types.ts";
import type { UpstreamResponse } from "../../upstream/upstream-client.ts";
import { GatewayError } from "../../errors/gateway-error.ts";
import type { InlineImage } from "../../upstream/image-fetcher.ts";
import { readUpstreamJson, streamUpstream } from "../upstream-answer.ts";
import type { AdapterDeps, ProviderAdapter, UpstreamCall } from "../provider.ts";
import { parseRetryAfter } from "../openai/openai-errors.ts";
import { remoteImageUrls } from "./gemini-contents.ts";
import { mapGeminiErrorText } from "./gemini-errors.ts";
import { buildGeminiRequestBody, geminiUnsupportedParams } from "./gemini-request.ts";
import { decodeGeminiResponse } from "./gemini-response.ts";
import { createGeminiStreamDecoder } from "./gemini-stream-decoder.ts";

/**
 * The URL of a model method: `{baseUrl}/models/{model}:{method}`; a model
 * given with its collection (`tunedModels/x`, `models/x`) keeps it.
 */
export function geminiMethodUrl(baseUrl: string, model: string, method: "generateContent" | "streamGenerateContent"): string {
  const name = model.includes("/") ? model : `models/${model}`;
  const path = name.split("/").map(encodeURIComponent).join("/");
  return `${baseUrl}/${path}:${method}${method === "streamGenerateContent" ? "?alt=sse" : ""}`;
}

async function failure(res: UpstreamResponse): Promise<GatewayError> {
  const text = await res.body.text().catch(() => "");
  return mapGeminiErrorText(res.status, text, parseRetryAfter(res.headers["retry-after"]));
}

/** Creates the adapter for Google's Gemini API (provider type `gemini`). */
export function createGeminiAdapter(deps: Pick<AdapterDeps, "upstream" | "fetchImage">): ProviderAdapter {
  /** Fetches every http(s) image of the request at once, so that mapping stays pure. */
  async function fetchImages(req: ChatRequest, signal: AbortSignal): Promise<Map<string, InlineImage>> {
    return deps.fetchImage(remoteImageUrls(req), signal);
  }

  async function send(call: UpstreamCall, stream: boolean): Promise<UpstreamResponse> {
    const body = JSON.stringify(buildGeminiRequestBody(call.request, call.model, await fetchImages(call.request, call.signal), call.maxTokens));
    const headers: Record<string, string> = { "content-type": "application/json", accept: stream ? "text/event-stream" : "application/json" };
    if (call.provider.apiKey !== "") headers["x-goog-api-key"] = call.provider.apiKey;
    const url = geminiMethodUrl(call.baseUrl, call.model, stream ? "streamGenerateContent" : "generateContent");
    return deps.upstream.send("POST", url, headers, body, call.signal);
  }

  return {
    unsupportedParams: geminiUnsupportedParams,
    async complete(call) {
      const res = await send(call, false);
      if (res.status >= 400) throw await failure(res);
      const json = await readUpstreamJson(res);
      return decodeGeminiResponse(json, call.model);
    },
    stream(call) {
      const open = async () => {
        const res = await send(call, true);
        if (res.status >= 400) throw await failure(res);
        return res;
      };
      return streamUpstream(open, createGeminiStreamDecoder({ model: call.model }), call);
    },
  };
}
