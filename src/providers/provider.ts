import type { ChatCompletion, ChatEvent, ChatRequest } from "../chat/chat-types.ts";
import type { ImageFetcher } from "../upstream/image-fetcher.ts";
import type { UpstreamClient } from "../upstream/upstream-client.ts";

/** The wire protocols the gateway speaks to upstreams. */
export type ProviderType = "openai" | "anthropic" | "gemini";

/** An upstream API and the model names it serves, as stored. */
export interface ProviderRecord {
  /** Unique name; also the `provider/` prefix that selects it explicitly. */
  readonly name: string;
  readonly type: ProviderType;
  /** The base URL as the operator gave it. */
  readonly baseUrl: string;
  /** The API key; never leaves the gateway except to this upstream. */
  readonly apiKey: string;
  /** Model names routed here by exact match. */
  readonly modelNames: readonly string[];
  /** Drop request parameters this provider cannot honour instead of rejecting the request. */
  readonly dropUnsupportedParams: boolean;
  readonly createTime: Date;
  readonly updateTime: Date;
}

/** One call to an upstream: where, which model, what. */
export interface UpstreamCall {
  readonly provider: ProviderRecord;
  /** The base URL with the protocol's version path applied. */
  readonly baseUrl: string;
  /** The model name to send upstream (without any `provider/` prefix). */
  readonly model: string;
  readonly request: ChatRequest;
  /**
   * An output limit the gateway imposes when the request sets none (a key
   * with a budget needs a bound): applied as the request's own default, so
   * it is not taken for a limit the caller chose.
   */
  readonly maxTokens?: number;
  /** Aborted when the client goes away; aborts the upstream request. */
  readonly signal: AbortSignal;
  /** Hears every chunk of a streamed answer's body, keep-alive bytes included (the stall deadline). */
  readonly onBytes?: () => void;
}

/**
 * Speaks one upstream protocol. Both methods map the internal request to the
 * upstream's wire format and its answer back to the internal model.
 */
export interface ProviderAdapter {
  /**
   * The top-level request parameters (OpenAI names, such as `logprobs`) that
   * this protocol cannot honour for this request. The engine rejects the
   * request naming the first, or drops them where the caller or the provider
   * allows it. Absent means every parameter is honoured.
   */
  unsupportedParams?(request: ChatRequest): string[];
  /**
   * Returns one whole completion.
   * @throws GatewayError for upstream errors, timeouts and cancellation.
   */
  complete(call: UpstreamCall): Promise<ChatCompletion>;
  /**
   * Streams a completion. The first event is `start`; an error before it
   * means nothing was generated. The iterable throws a GatewayError if the
   * upstream fails or cuts the stream before its end, and stopping the
   * iteration aborts the upstream request.
   */
  stream(call: UpstreamCall): AsyncIterable<ChatEvent>;
}

/** What every adapter is built from. */
export interface AdapterDeps {
  readonly upstream: UpstreamClient;
  /** `max_tokens` to send where the protocol requires one and the caller gave none. */
  readonly defaultMaxTokens: number;
  /** Fetches http(s) images for protocols that take only inline images. */
  readonly fetchImage: ImageFetcher;
}
