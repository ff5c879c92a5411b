import type { ChatEvent } from "../chat/chat-types.ts";
import { GatewayError } from "../errors/gateway-error.ts";
import { mapTransportError, type UpstreamResponse } from "../upstream/upstream-client.ts";
import type { UpstreamCall } from "./provider.ts";

/** A per-call stream decoder, as every adapter has one. */
export interface EventDecoder {
  /** Feeds body bytes; returns the events they complete. */
  push(chunk: Uint8Array): ChatEvent[];
  /** Ends the body; throws when the stream was cut short. */
  finish(): ChatEvent[];
  /** Whether the decoder has failed already, so the rest of the body is not needed. */
  readonly failed?: boolean;
  /** Whether the stream is complete, so the rest of the body is not needed (an upstream may keep it open). */
  readonly done?: boolean;
}

/**
 * Reads a successful unary upstream answer as JSON.
 * @throws GatewayError `upstream_error` when the body is not JSON.
 */
export async function readUpstreamJson(res: UpstreamResponse): Promise<unknown> {
  const text = await res.body.text();
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new GatewayError("upstream_error", "the upstream returned a malformed answer", { cause });
  }
}

/**
 * Decodes a streamed upstream answer into chat events, telling `onBytes` of
 * every body chunk. Transport failures
 * become GatewayErrors (a client's cancel stays `canceled`); the decoder's
 * `finish` decides whether the stream ended complete.
 */
export async function* decodeUpstreamStream(res: UpstreamResponse, decoder: EventDecoder, call: Pick<UpstreamCall, "signal" | "onBytes">): AsyncGenerator<ChatEvent> {
  const { signal, onBytes } = call;
  try {
    for await (const chunk of res.body) {
      onBytes?.();
      yield* decoder.push(chunk);
      if (decoder.failed || decoder.done) break;
    }
  } catch (err) {
    throw mapTransportError(err, signal);
  }
  yield* decoder.finish();
}
