import { GatewayError } from "../errors/gateway-error.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { ListedModel, ModelRouter } from "../routing/model-router.ts";
import type { ChatEndpoint } from "./chat-endpoint.ts";
import { sendJson } from "./http-io.ts";
import type { RestHandler, RestRoute } from "./rest-route.ts";

/** A model as OpenAI lists it, plus the gateway's `deployments` (`provider/model` each). */
function modelJson(m: ListedModel) {
  return { id: m.id, object: "model", created: m.created, owned_by: m.provider, deployments: m.deployments.map((d) => `${d.provider}/${d.model}`) };
}

/**
 * The OpenAI-compatible routes (chat completions and models, also under
 * /v1/langchain) and the operational ones: /metrics, /healthz, /readyz.
 */
export function openaiRoutes(deps: { chat: ChatEndpoint; router: ModelRouter; metrics: GatewayMetrics; ready: () => "ready" | "draining" | "unavailable" }): RestRoute[] {
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
        GET: (_req, res) => {
          const status = deps.ready();
          // "unavailable": every deployment the gateway knows is cooling down.
          if (status === "ready") sendJson(res, 200, { status, models: router.list().length });
          else sendJson(res, 503, { status });
        },
      },
    },
  ];
}
