import { Agent, request } from "undici";
import { GatewayError } from "../errors/gateway-error.ts";

/** Timeouts for calls to upstreams, in milliseconds. */
export interface UpstreamTimeouts {
  /** To establish a connection. */
  readonly connectMs: number;
  /** From sending the request to the response headers (the first byte). */
  readonly firstByteMs: number;
  /** Longest silence between two body chunks. */
  readonly idleMs: number;
  /** For the whole exchange, body included. */
  readonly totalMs: number;
}

/**
 * An upstream's answer; `body` must be consumed or dumped. Iterating the
 * body throws undici's errors as they are (map them with
 * {@link mapTransportError}); `text` maps them itself.
 */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: AsyncIterable<Uint8Array> & { text(): Promise<string>; dump(): Promise<void> };
}

/** Sends requests to upstream APIs over pooled keep-alive connections. */
export interface UpstreamClient {
  /**
   * Sends a request. Resolves once the response headers arrive, whatever the
   * status. Aborting `signal` aborts the request, body included.
   * @throws GatewayError `timeout`, `upstream_unavailable` or `canceled`.
   */
  send(method: "GET" | "POST", url: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<UpstreamResponse>;
  /** Closes pooled connections, waiting for exchanges under way. */
  close(): Promise<void>;
  /** Closes pooled connections, cutting exchanges under way. */
  destroy(): Promise<void>;
}

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/**
 * Maps a transport failure (undici error, abort, timeout) to a
 * {@link GatewayError}. `clientSignal` tells a client's cancel apart from the
 * gateway's own total timeout.
 */
export function mapTransportError(err: unknown, clientSignal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (clientSignal.aborted) return new GatewayError("canceled", "the request was canceled", { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  const name = (err as { name?: unknown } | null)?.name;
  if ((typeof code === "string" && TIMEOUT_CODES.has(code)) || name === "TimeoutError") {
    return new GatewayError("timeout", "the upstream did not answer in time", { cause: err });
  }
  return new GatewayError("upstream_unavailable", "the upstream could not be reached or closed the connection", { cause: err });
}

/**
 * Creates the upstream client: one undici Agent (a keep-alive pool per
 * origin, up to `maxConnections` each) shared by every provider, with the
 * given timeouts. The total timeout is one timer per exchange, cleared when
 * its body is consumed or dumped.
 */
export function createUpstreamClient(timeouts: UpstreamTimeouts, maxConnections = 4096): UpstreamClient {
  const agent = new Agent({
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.firstByteMs,
    bodyTimeout: timeouts.idleMs,
    keepAliveTimeout: 30_000,
    connections: maxConnections,
  });
  return {
    async send(method, url, headers, body, signal) {
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal.reason);
      if (signal.aborted) controller.abort(signal.reason);
      else signal.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(() => controller.abort(new DOMException("the upstream exchange took too long", "TimeoutError")), timeouts.totalMs);
      timer.unref();
      let open = true;
      const done = () => {
        if (!open) return;
        open = false;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      };
      try {
        const res = await request(url, { method, headers, body, signal: controller.signal, dispatcher: agent });
        const wrapped = res.body as unknown as UpstreamResponse["body"];
        // The exchange ends with its body, however that ends.
        res.body.once("close", done);
        return {
          status: res.statusCode,
          headers: res.headers,
          body: {
            // The body's own iterator: no generator of ours between each chunk and its reader.
            [Symbol.asyncIterator]: () => res.body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>,
            text: () =>
              wrapped
                .text()
                .catch((err: unknown) => Promise.reject(mapTransportError(err, signal)))
                .finally(done),
            dump: () =>
              res.body
                .dump()
                .catch(() => undefined)
                .finally(done),
          },
        };
      } catch (err) {
        done();
        throw mapTransportError(err, signal);
      }
    },
    close: () => agent.close(),
    destroy: () => agent.destroy(),
  };
}
