import type { Pricing } from "../billing/pricing.ts";
import { readJsonBody, sendJson } from "./http-io.ts";
import { adminOnly, type RestRoute } from "./rest-route.ts";

function priceJson(p: { provider?: string; model: string; input: number; output: number; cachedInput: number }, builtin: boolean) {
  return {
    provider: p.provider ?? "",
    model: p.model,
    input_per_mtok: p.input,
    output_per_mtok: p.output,
    cached_input_per_mtok: p.cachedInput,
    builtin,
  };
}

/** The price admin routes: `GET|PUT /v1/prices`, `DELETE /v1/prices/{provider}/{model}`, admin key only. */
export function priceRoutes(deps: { pricing: Pricing; checkAdmin: (authorization: string | undefined) => void; maxBodyBytes: number }): RestRoute[] {
  const { pricing } = deps;
  const guard = (h: Parameters<typeof adminOnly>[1]) => adminOnly(deps.checkAdmin, h);
  return [
    {
      path: /^\/v1\/prices$/,
      methods: {
        GET: guard((_req, res) => {
          const { overrides, builtin } = pricing.list();
          sendJson(res, 200, { object: "list", data: [...overrides.map((p) => priceJson(p, false)), ...builtin.map((p) => priceJson(p, true))] });
        }),
        PUT: guard(async (req, res) => {
          const body = await readJsonBody(req, deps.maxBodyBytes);
          const input = typeof body === "object" && body !== null && !Array.isArray(body) ? body : {};
          sendJson(res, 200, priceJson(await pricing.set(input), false));
        }),
      },
    },
    {
      path: /^\/v1\/prices\/([^/]+)\/(.+)$/,
      methods: {
        DELETE: guard(async (_req, res, [provider = "", model = ""]) => {
          await pricing.delete(provider, model);
          sendJson(res, 200, { provider, model, object: "price", deleted: true });
        }),
      },
    },
  ];
}
