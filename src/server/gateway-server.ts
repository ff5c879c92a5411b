import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Logger } from "../log/logger.ts";

/** Handles a request from either protocol (Node's http2 compatibility API matches http's). */
export type RequestHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/** A listening gateway server. */
export interface GatewayServer {
  /** The bound address (port 0 resolves to the real port). */
  readonly address: net.AddressInfo;
  /** Whether shutdown has begun. */
  readonly draining: boolean;
  /**
   * Stops accepting, lets in-flight requests and streams finish for up to
   * `timeoutMs`, then destroys whatever is left. Resolves when all is closed.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** A connection that sends nothing for this long is dropped. */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

function isHttp2(first: Buffer): boolean {
  const n = Math.min(first.length, PREFACE.length);
  return first.subarray(0, n).equals(PREFACE.subarray(0, n));
}

/**
 * Starts one server on one port for every protocol: HTTP/1.1 and cleartext
 * HTTP/2 (prior knowledge), told apart by the HTTP/2 connection preface, both
 * handled by `handler` (Connect, gRPC, gRPC-Web and the REST endpoints).
 */
export async function startGatewayServer(options: {
  handler: RequestHandler;
  port: number;
  host?: string;
  logger: Logger;
}): Promise<GatewayServer> {
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();

  const handler: RequestHandler = (req, res) => {
    inFlight++;
    if (draining && "shouldKeepAlive" in res) res.shouldKeepAlive = false;
    res.once("close", () => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    options.handler(req, res);
  };

  const h1 = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 60_000 }, handler);
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } }, handler);
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (draining) session.close();
  });
  for (const s of [h1, h2]) s.on("error", (err: Error) => options.logger.warn("server error", { error: err.message }));

  // The Node HTTP servers turn Nagle's algorithm off on the sockets they accept, but these
  // sockets are accepted here: without noDelay, small writes (a stream's chunks, a response
  // after its headers) wait for the client's delayed ACK, about 40 ms.
  const listener = net.createServer({ noDelay: true, keepAlive: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
    socket.once("data", (first: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      socket.unshift(first);
      if (isHttp2(first)) {
        // The HTTP/2 session reads the unshifted bytes itself; resuming the
        // socket here would hand them to a JS reader instead.
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(options.port, options.host, () => {
      listener.off("error", reject);
      resolve();
    });
  });

  return {
    address: listener.address() as net.AddressInfo,
    get draining() {
      return draining;
    },
    async shutdown(timeoutMs) {
      if (draining) return;
      draining = true;
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          timer.unref();
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
