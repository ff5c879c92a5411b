import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import { sendError } from "./http-io.ts";
import type { HttpRequest, HttpResponse } from "./http-types.ts";
import type { RestRoute } from "./rest-route.ts";

/**
 * Creates the handler for every non-RPC path from route tables. Unknown
 * paths are 404 and wrong methods 405, both as OpenAI error JSON; anything a
 * handler throws is reported the same way.
 */
export function createRestHandler(routes: readonly RestRoute[]): (req: HttpRequest, res: HttpResponse) => void {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const run = async () => {
      for (const route of routes) {
        const m = route.path.exec(path);
        if (!m) continue;
        const handler = route.methods[req.method ?? "GET"];
        if (!handler) {
          res.setHeader("allow", Object.keys(route.methods).join(", "));
          throw new GatewayError("invalid_request", `method ${req.method} is not allowed on ${path}`, { status: 405 });
        }
        let params: string[];
        try {
          params = m.slice(1).map((p) => decodeURIComponent(p ?? ""));
        } catch {
          throw new GatewayError("invalid_request", `the path ${path} is not validly encoded`);
        }
        return handler(req, res, params);
      }
      throw new GatewayError("not_found", `no route for ${req.method} ${path}`, { code: "unknown_url" });
    };
    run().catch((err: unknown) => sendError(res, toGatewayError(err)));
  };
}
