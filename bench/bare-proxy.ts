/**
 * The floor for a Node proxy: every request goes to `UPSTREAM` (an origin)
 * on the same path over an undici Agent's keep-alive pool, bodies piped both
 * ways with back-pressure, hop-by-hop headers dropped, nothing parsed. Run
 * as its own process by the bench suite; prints `{"port":N}` once listening
 * on `PORT` (0 for any) of 127.0.0.1. A client that goes away aborts the
 * upstream request (undici's `stream` ends when its writable closes).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";

const origin = process.env.UPSTREAM;
if (!origin) throw new Error("UPSTREAM (the upstream origin) is required");

const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"]);

function endToEnd(headers: http.IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP.has(name)) out[name] = value;
  }
  return out;
}

const agent = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });

const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  agent
    .stream(
      { origin, path: req.url ?? "/", method, headers: endToEnd(req.headers), body: hasBody ? req : null },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, endToEnd(headers));
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" }).end('{"error":{"message":"upstream unavailable","type":"upstream_error"}}');
      else res.destroy();
    });
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", 1024, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
