/**
 * The Anthropic Messages adapter (`type: anthropic`): `POST {baseUrl}/messages`
 * with `x-api-key` and `anthropic-version: 2023-06-01`, unary and streamed.
 * https://docs.claude.com/en/api/messages
 *
 * Thinking across turns. Anthropic requires the thinking blocks of an answer
 * (with their signatures, and any `redacted_thinking` blocks) back unchanged
 * when a conversation continues, above all after tool use. A client sees them
 * as OpenAI-style fields and returns them on the assistant message:
 * - unary: `choices[0].message.reasoning_content` (the thinking text; several
 *   blocks joined by a blank line) and `choices[0].message.reasoning_signature`;
 * - streamed: `delta.reasoning_content` fragments as the model thinks, then
 *   one `delta.reasoning_signature` holding the whole signature, just before
 *   the finish chunk;
 * - next request: the assistant message carries `reasoning_content` and
 *   `reasoning_signature` exactly as received; the adapter rebuilds the
 *   thinking blocks, placed first in that assistant turn.
 * When the answer had exactly one thinking block, `reasoning_signature` is
 * Anthropic's signature itself and the block is rebuilt from
 * `reasoning_content` (so that text must come back verbatim). Otherwise (more
 * than one block, or a redacted one, which has no text) the signature is
 * `anthropic-thinking-v1:` followed by base64url of the blocks' JSON array,
 * which carries every block whole; `reasoning_content` is then for display
 * only. Reasoning sent back without a signature is not forwarded, as
 * Anthropic would reject it.
 */
import type { ChatRequest } from "../../chat/chat-types.ts";
import { GatewayError } from "../../errors/gateway-error.ts";
import type { InlineImage } from "../../upstream/image-fetcher.ts";
import type { UpstreamResponse } from "../../upstream/upstream-client.ts";
import { parseRetryAfter } from "../openai/openai-errors.ts";
import { readUpstreamJson, streamUpstream } from "../upstream-answer.ts";
import type { AdapterDeps, ProviderAdapter, UpstreamCall } from "../provider.ts";
import { mapAnthropicErrorText } from "./anthropic-errors.ts";
import { anthropicUnsupportedParams, buildAnthropicRequest, imageUrlsToFetch } from "./anthropic-request.ts";
import { decodeAnthropicMessage } from "./anthropic-response.ts";
import { createAnthropicStreamDecoder } from "./anthropic-stream-decoder.ts";

/** The API version the mapping follows; sent on every request. */
export const ANTHROPIC_VERSION = "2023-06-01";

async function failure(res: UpstreamResponse): Promise<GatewayError> {
  const text = await res.body.text().catch(() => "");
  return mapAnthropicErrorText(res.status, text, parseRetryAfter(res.headers["retry-after"]));
}

/**
 * Fetches the request's http images (Anthropic takes https URLs and inline
 * data only); a refused image is reported under the part that names it.
 */
async function fetchImages(req: ChatRequest, deps: Pick<AdapterDeps, "fetchImage">, signal: AbortSignal): Promise<Map<string, InlineImage>> {
  const params = imageUrlsToFetch(req);
  return deps.fetchImage([...params.keys()], signal, (url, err) => {
    const param = params.get(url);
    if (param === undefined || err.kind !== "invalid_request") return err;
    return new GatewayError("invalid_request", `${param}: ${err.message.replace(/^image_url: /, "")}`, { param, cause: err });
  });
}

/**
 * Creates the adapter for Anthropic's Messages API. Both methods throw
 * {@link GatewayError}: the mapped upstream error, `invalid_request` for a
 * request Anthropic cannot take, `upstream_unavailable` for a stream cut
 * before `message_stop`; aborting the call's signal aborts the upstream
 * request.
 */
export function createAnthropicAdapter(deps: AdapterDeps): ProviderAdapter {
  async function send(call: UpstreamCall): Promise<UpstreamResponse> {
    const images = await fetchImages(call.request, deps, call.signal);
    const body = buildAnthropicRequest(call.request, { model: call.model, defaultMaxTokens: call.maxTokens ?? deps.defaultMaxTokens, images });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: call.request.stream ? "text/event-stream" : "application/json",
      "anthropic-version": ANTHROPIC_VERSION,
    };
    if (call.provider.apiKey !== "") headers["x-api-key"] = call.provider.apiKey;
    return deps.upstream.send("POST", `${call.baseUrl}/messages`, headers, JSON.stringify(body), call.signal);
  }

  return {
    unsupportedParams: anthropicUnsupportedParams,
    async complete(call) {
      const res = await send(call);
      if (res.status >= 400) throw await failure(res);
      const json = await readUpstreamJson(res);
      return decodeAnthropicMessage(json);
    },
    stream(call) {
      const open = async () => {
        const res = await send(call);
        if (res.status >= 400) throw await failure(res);
        return res;
      };
      return streamUpstream(open, createAnthropicStreamDecoder(), call);
    },
  };
}
