import { GatewayError } from "../errors/gateway-error.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { ModelRouter } from "../routing/model-router.ts";
import type { ChatEndpoint } from "./chat-endpoint.ts";
import { sendJson } from "./http-io.ts";
import type { RestHandler, RestRoute } from "./rest-route.ts";

function modelJson(m: { id: string; provider: string; created: number }) {
  return { id: m.id, object: "model", created: m.created, owned_by: m.provider };
}

/**
 * The OpenAI-compatible routes (chat completions and models, also under
 * /v1/langchain) and the operational ones: /metrics, /healthz, /readyz.
 */
export function openaiRoutes(deps: { chat: ChatEndpoint; router: ModelRouter; metrics: GatewayMetrics; ready: () => boolean }): RestRoute[] {
  const { router } = deps;
  const models: RestHandler = (_req, res) => sendJson(res, 200, { object: "list", data: router.list().map(modelJson) });
  const model: RestHandler = (_req, res, [id = ""]) => {
    const found = router.list().find((m) => m.id === id);
    if (!found) throw new GatewayError("not_found", `The model '${id}' does not exist or no provider lists it.`, { code: "model_not_found", param: "model" });
    sendJson(res, 200, modelJson(found));
  };
  return [
    { path: /^\/v1\/chat\/completions$/, methods: { POST: (req, res) => deps.chat(req, res, "openai") } },
    { path: /^\/v1\/langchain\/chat\/completions$/, methods: { POST: (req, res) => deps.chat(req, res, "langchain") } },
    { path: /^\/v1(?:\/langchain)?\/models$/, methods: { GET: models } },
    { path: /^\/v1(?:\/langchain)?\/models\/(.+)$/, methods: { GET: model } },
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
          deps.ready() ? sendJson(res, 200, { status: "ready", models: router.list().length }) : sendJson(res, 503, { status: "draining" }),
      },
    },
  ];
}
