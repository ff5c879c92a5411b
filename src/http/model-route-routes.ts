import { checkModelRouteFields, modelRouteJson, type ModelRouteAdmin } from "../admin/model-route-admin.ts";
import type { DeploymentStatus, DeploymentStatusSource } from "../routing/model-route.ts";
import { readJsonBody, sendJson } from "./http-io.ts";
import type { HttpRequest } from "./http-types.ts";
import { adminOnly, type RestRoute } from "./rest-route.ts";

/** A deployment's state as the REST admin API shows it; absent times and latency are null. */
export function deploymentStatusJson(s: DeploymentStatus): Record<string, unknown> {
  return {
    id: s.id,
    provider: s.provider,
    model: s.model,
    served_as: [...s.servedAs],
    state: s.state,
    consecutive_failures: s.consecutiveFailures,
    cooldown_until: s.cooldownUntil?.toISOString() ?? null,
    in_flight: s.inFlight,
    latency_ms: s.latencyMs ?? null,
    last_error: s.lastError,
    last_probe_time: s.lastProbeTime?.toISOString() ?? null,
  };
}

/**
 * The model route admin routes, `/v1/model-routes[/{name}]`, and the
 * deployment state, `/v1/deployments`; admin key only. A route's name may
 * contain "/" (`meta-llama/Llama-3-70b`), sent raw or percent-encoded.
 */
export function modelRouteRoutes(deps: {
  admin: ModelRouteAdmin;
  deployments: DeploymentStatusSource;
  checkAdmin: (authorization: string | undefined) => void;
  maxBodyBytes: number;
}): RestRoute[] {
  const { admin } = deps;
  const guard = (h: Parameters<typeof adminOnly>[1]) => adminOnly(deps.checkAdmin, h);
  const body = async (req: HttpRequest) => checkModelRouteFields(await readJsonBody(req, deps.maxBodyBytes));
  return [
    {
      path: /^\/v1\/model-routes$/,
      methods: {
        GET: guard(async (_req, res) => sendJson(res, 200, { object: "list", data: (await admin.list()).map(modelRouteJson) })),
        POST: guard(async (req, res) => sendJson(res, 201, modelRouteJson(await admin.create(await body(req))))),
      },
    },
    {
      path: /^\/v1\/model-routes\/(.+)$/,
      methods: {
        GET: guard(async (_req, res, [name = ""]) => sendJson(res, 200, modelRouteJson(await admin.get(name)))),
        PATCH: guard(async (req, res, [name = ""]) => sendJson(res, 200, modelRouteJson(await admin.update(name, await body(req))))),
        DELETE: guard(async (_req, res, [name = ""]) => {
          await admin.delete(name);
          sendJson(res, 200, { name, object: "model_route", deleted: true });
        }),
      },
    },
    {
      path: /^\/v1\/deployments$/,
      methods: {
        GET: guard((_req, res) => sendJson(res, 200, { object: "list", data: deps.deployments.list().map(deploymentStatusJson) })),
      },
    },
  ];
}
