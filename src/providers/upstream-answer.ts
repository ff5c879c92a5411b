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
 * Opens a streamed upstream answer with `open` (which sends the request and
 * throws the mapped error of a failed status) and decodes it into chat
 * events, telling `onBytes` of every body chunk. One generator from request
 * to events: every layer between the body and the client costs each chunk.
 * Transport failures become GatewayErrors (a client's cancel stays
 * `canceled`); the decoder's `finish` decides whether the stream ended
 * complete.
 */
export async function* streamUpstream(
  open: () => Promise<UpstreamResponse>,
  decoder: EventDecoder,
  call: Pick<UpstreamCall, "signal" | "onBytes">,
): AsyncGenerator<ChatEvent> {
  const res = await open();
  const { signal, onBytes } = call;
  try {
    for await (const chunk of res.body) {
      onBytes?.();
      for (const e of decoder.push(chunk)) yield e;
      if (decoder.failed || decoder.done) break;
    }
  } catch (err) {
    throw mapTransportError(err, signal);
  }
  for (const e of decoder.finish()) yield e;
}
