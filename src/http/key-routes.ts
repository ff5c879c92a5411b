import type { BudgetTracker } from "../billing/budget-tracker.ts";
import type { ApiKeyRecord } from "../keys/api-key.ts";
import { checkKeyFields, type KeyService } from "../keys/key-service.ts";
import { readJsonBody, sendJson } from "./http-io.ts";
import { adminOnly, queryOf, type RestRoute } from "./rest-route.ts";

/** A key as the REST admin API shows it: never its secret. */
export async function keyJson(k: ApiKeyRecord, budgets: BudgetTracker): Promise<Record<string, unknown>> {
  return {
    id: k.id,
    object: "api_key",
    user_id: k.userId,
    name: k.name,
    models: k.models,
    budget_usd: k.budgetUsd ?? null,
    budget_period: k.budgetPeriod,
    spent_usd: await budgets.spent(k),
    expires_at: k.expireTime?.toISOString() ?? null,
    rpm: k.rpm ?? null,
    tpm: k.tpm ?? null,
    secret_prefix: k.secretPrefix,
    created_at: k.createTime.toISOString(),
    revoked_at: k.revokeTime?.toISOString() ?? null,
  };
}

/** The key admin routes, `/v1/keys[/{id}]`, admin key only. */
export function keyRoutes(deps: { keys: KeyService; budgets: BudgetTracker; checkAdmin: (authorization: string | undefined) => void; maxBodyBytes: number }): RestRoute[] {
  const { keys, budgets } = deps;
  const guard = (h: Parameters<typeof adminOnly>[1]) => adminOnly(deps.checkAdmin, h);
  return [
    {
      path: /^\/v1\/keys$/,
      methods: {
        GET: guard(async (req, res) => {
          const list = await keys.list(queryOf(req).get("user_id") ?? undefined);
          sendJson(res, 200, { object: "list", data: await Promise.all(list.map((k) => keyJson(k, budgets))) });
        }),
        POST: guard(async (req, res) => {
          const { key, secret } = await keys.create(checkKeyFields(await readJsonBody(req, deps.maxBodyBytes)));
          sendJson(res, 201, { ...(await keyJson(key, budgets)), secret });
        }),
      },
    },
    {
      path: /^\/v1\/keys\/([^/]+)$/,
      methods: {
        GET: guard(async (_req, res, [id = ""]) => sendJson(res, 200, await keyJson(await keys.get(id), budgets))),
        PATCH: guard(async (req, res, [id = ""]) => {
          const key = await keys.update(id, checkKeyFields(await readJsonBody(req, deps.maxBodyBytes)));
          sendJson(res, 200, await keyJson(key, budgets));
        }),
        DELETE: guard(async (_req, res, [id = ""]) => sendJson(res, 200, await keyJson(await keys.revoke(id), budgets))),
      },
    },
  ];
}
