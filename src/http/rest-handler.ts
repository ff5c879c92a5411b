import type { ProviderAdmin } from "../admin/provider-admin.ts";
import { checkProviderFields } from "../admin/provider-admin.ts";
import { GatewayError, toGatewayError } from "../errors/gateway-error.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { ModelRouter } from "../routing/model-router.ts";
import type { ChatEndpoint } from "./chat-endpoint.ts";
import { readJsonBody, sendError, sendJson } from "./http-io.ts";
import type { HttpRequest, HttpResponse } from "./http-types.ts";
import { providerJson } from "./provider-json.ts";

/** Dependencies of {@link createRestHandler}. */
export interface RestDeps {
  readonly chat: ChatEndpoint;
  readonly admin: ProviderAdmin;
  readonly router: ModelRouter;
  readonly metrics: GatewayMetrics;
  /** @throws GatewayError `unauthenticated` unless the header carries the admin key. */
  readonly checkAdmin: (authorization: string | undefined) => void;
  /** Whether the gateway takes new requests (false while draining). */
  readonly ready: () => boolean;
  readonly maxBodyBytes: number;
}

type Handler = (req: HttpRequest, res: HttpResponse, param: string) => Promise<void> | void;

interface Route {
  readonly path: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

function modelJson(m: { id: string; provider: string; created: number }) {
  return { id: m.id, object: "model", created: m.created, owned_by: m.provider };
}

/**
 * Creates the handler for every non-RPC path: the OpenAI-compatible
 * endpoints, the provider admin API, `/metrics`, `/healthz` and `/readyz`.
 * Unknown paths are 404 and wrong methods 405, both as OpenAI error JSON.
 */
export function createRestHandler(deps: RestDeps): (req: HttpRequest, res: HttpResponse) => void {
  const { admin, router } = deps;
  const models: Handler = (_req, res) =>
    sendJson(res, 200, { object: "list", data: router.list().map(modelJson) });
  const model: Handler = (_req, res, id) => {
    const found = router.list().find((m) => m.id === id);
    if (!found) throw new GatewayError("not_found", `The model '${id}' does not exist or no provider lists it.`, { code: "model_not_found", param: "model" });
    sendJson(res, 200, modelJson(found));
  };
  const adminOnly = (h: Handler): Handler => (req, res, param) => {
    deps.checkAdmin(req.headers.authorization);
    return h(req, res, param);
  };
  const body = async (req: HttpRequest) => checkProviderFields(await readJsonBody(req, deps.maxBodyBytes));

  const routes: Route[] = [
    { path: /^\/v1\/chat\/completions$/, methods: { POST: (req, res) => deps.chat(req, res, "openai") } },
    { path: /^\/v1\/langchain\/chat\/completions$/, methods: { POST: (req, res) => deps.chat(req, res, "langchain") } },
    { path: /^\/v1(?:\/langchain)?\/models$/, methods: { GET: models } },
    { path: /^\/v1(?:\/langchain)?\/models\/(.+)$/, methods: { GET: model } },
    {
      path: /^\/v1\/providers$/,
      methods: {
        GET: adminOnly(async (_req, res) => sendJson(res, 200, { object: "list", data: (await admin.list()).map(providerJson) })),
        POST: adminOnly(async (req, res) => sendJson(res, 201, providerJson(await admin.create(await body(req))))),
      },
    },
    {
      path: /^\/v1\/providers\/([^/]+)$/,
      methods: {
        GET: adminOnly(async (_req, res, name) => sendJson(res, 200, providerJson(await admin.get(name)))),
        PATCH: adminOnly(async (req, res, name) => sendJson(res, 200, providerJson(await admin.update(name, await body(req))))),
        DELETE: adminOnly(async (_req, res, name) => {
          await admin.delete(name);
          sendJson(res, 200, { name, object: "provider", deleted: true });
        }),
      },
    },
    {
      path: /^\/metrics$/,
      methods: {
        GET: async (_req, res) => {
          const text = await deps.metrics.registry.metrics();
          res.writeHead(200, { "content-type": deps.metrics.registry.contentType });
          res.end(text);
        },
      },
    },
    { path: /^\/(?:healthz|livez)$/, methods: { GET: (_req, res) => sendJson(res, 200, { status: "ok" }) } },
    {
      path: /^\/readyz$/,
      methods: {
        GET: (_req, res) =>
          deps.ready()
            ? sendJson(res, 200, { status: "ready", models: router.list().length })
            : sendJson(res, 503, { status: "draining" }),
      },
    },
  ];

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
        return handler(req, res, decodeURIComponent(m[1] ?? ""));
      }
      throw new GatewayError("not_found", `no route for ${req.method} ${path}`, { code: "unknown_url" });
    };
    run().catch((err: unknown) => sendError(res, toGatewayError(err)));
  };
}
