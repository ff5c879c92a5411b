import type * as http from "node:http";
import type * as http2 from "node:http2";

/** A request from Node's http or http2 (compatibility API) server. */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** The parts of a Node http or http2 (compatibility API) response that the REST layer uses. */
export interface HttpResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  writeHead(status: number, headers?: http.OutgoingHttpHeaders): unknown;
  write(chunk: string | Uint8Array, callback?: (err?: Error | null) => void): boolean;
  end(chunk?: string | Uint8Array): unknown;
  on(event: "close" | "drain" | "error", listener: (...args: unknown[]) => void): unknown;
  once(event: "close" | "drain" | "error", listener: (...args: unknown[]) => void): unknown;
  off(event: "close" | "drain" | "error", listener: (...args: unknown[]) => void): unknown;
}
