import { checkProviderFields, maskKey, type ProviderAdmin } from "../admin/provider-admin.ts";
import type { ProviderRecord } from "../providers/provider.ts";
import { readJsonBody, sendJson } from "./http-io.ts";
import type { HttpRequest } from "./http-types.ts";
import { adminOnly, type RestRoute } from "./rest-route.ts";

/** A provider as the REST admin API shows it: the API key masked. */
export function providerJson(p: ProviderRecord): Record<string, unknown> {
  return {
    name: p.name,
    type: p.type,
    base_url: p.baseUrl,
    api_key: maskKey(p.apiKey),
    model_names: p.modelNames,
    drop_unsupported_params: p.dropUnsupportedParams,
    create_time: p.createTime.toISOString(),
    update_time: p.updateTime.toISOString(),
  };
}

/** The provider admin routes, `/v1/providers[/{name}]`, admin key only. */
export function providerRoutes(deps: { admin: ProviderAdmin; checkAdmin: (authorization: string | undefined) => void; maxBodyBytes: number }): RestRoute[] {
  const { admin } = deps;
  const guard = (h: Parameters<typeof adminOnly>[1]) => adminOnly(deps.checkAdmin, h);
  const body = async (req: HttpRequest) => checkProviderFields(await readJsonBody(req, deps.maxBodyBytes));
  return [
    {
      path: /^\/v1\/providers$/,
      methods: {
        GET: guard(async (_req, res) => sendJson(res, 200, { object: "list", data: (await admin.list()).map(providerJson) })),
        POST: guard(async (req, res) => sendJson(res, 201, providerJson(await admin.create(await body(req))))),
      },
    },
    {
      path: /^\/v1\/providers\/([^/]+)$/,
      methods: {
        GET: guard(async (_req, res, [name = ""]) => sendJson(res, 200, providerJson(await admin.get(name)))),
        PATCH: guard(async (req, res, [name = ""]) => sendJson(res, 200, providerJson(await admin.update(name, await body(req))))),
        DELETE: guard(async (_req, res, [name = ""]) => {
          await admin.delete(name);
          sendJson(res, 200, { name, object: "provider", deleted: true });
        }),
      },
    },
  ];
}
