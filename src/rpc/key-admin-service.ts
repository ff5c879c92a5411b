import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { BudgetPeriod as ProtoPeriod, KeyAdminService, KeySchema, type Key as ProtoKey } from "../../gen/gateway/v1/key_admin_pb.js";
import type { BudgetTracker } from "../billing/budget-tracker.ts";
import { GatewayError } from "../errors/gateway-error.ts";
import type { ApiKeyRecord, BudgetPeriod } from "../keys/api-key.ts";
import type { KeyInput, KeyService } from "../keys/key-service.ts";
import { adminGuard } from "./admin-rpc.ts";

const PERIODS: Record<BudgetPeriod, ProtoPeriod> = { day: ProtoPeriod.DAY, month: ProtoPeriod.MONTH, total: ProtoPeriod.TOTAL };
const FROM_PROTO: Record<number, BudgetPeriod | undefined> = { [ProtoPeriod.DAY]: "day", [ProtoPeriod.MONTH]: "month", [ProtoPeriod.TOTAL]: "total" };
const MASK: Record<string, keyof KeyInput> = {
  name: "name",
  models: "models",
  budget_usd: "budget_usd",
  budget_period: "budget_period",
  expire_time: "expires_at",
  rpm: "rpm",
  tpm: "tpm",
};

async function toProto(k: ApiKeyRecord, budgets: BudgetTracker): Promise<ProtoKey> {
  return create(KeySchema, {
    id: k.id,
    userId: k.userId,
    name: k.name,
    models: [...k.models],
    budgetUsd: k.budgetUsd,
    budgetPeriod: PERIODS[k.budgetPeriod],
    expireTime: k.expireTime ? timestampFromDate(k.expireTime) : undefined,
    rpm: k.rpm,
    tpm: k.tpm,
    createTime: timestampFromDate(k.createTime),
    revokeTime: k.revokeTime ? timestampFromDate(k.revokeTime) : undefined,
    secretPrefix: k.secretPrefix,
    spentUsd: await budgets.spent(k),
  });
}

/** The admin input of a proto key: every field that is set, or those the mask names. */
function toInput(k: ProtoKey | undefined, mask?: readonly string[]): KeyInput {
  if (!k) throw new GatewayError("invalid_request", "key: is required", { param: "key" });
  const all: KeyInput = {
    name: k.name,
    models: k.models,
    budget_usd: k.budgetUsd ?? null,
    budget_period: FROM_PROTO[k.budgetPeriod] ?? "total",
    expires_at: k.expireTime ? timestampDate(k.expireTime).toISOString() : null,
    rpm: k.rpm ?? null,
    tpm: k.tpm ?? null,
  };
  if (mask && mask.length > 0) {
    const input: KeyInput = {};
    for (const path of mask) {
      const field = MASK[path];
      if (!field) throw new GatewayError("invalid_request", `update_mask: unknown or immutable field "${path}"`, { param: "update_mask" });
      input[field] = all[field];
    }
    return input;
  }
  return {
    ...(k.name !== "" && { name: k.name }),
    ...(k.models.length > 0 && { models: k.models }),
    ...(k.budgetUsd !== undefined && { budget_usd: k.budgetUsd }),
    ...(FROM_PROTO[k.budgetPeriod] !== undefined && { budget_period: FROM_PROTO[k.budgetPeriod] }),
    ...(k.expireTime && { expires_at: all.expires_at }),
    ...(k.rpm !== undefined && { rpm: k.rpm }),
    ...(k.tpm !== undefined && { tpm: k.tpm }),
  };
}

/** Registers `gateway.v1.KeyAdminService` (admin key only), over the same {@link KeyService} as REST. */
export function registerKeyAdminService(
  router: ConnectRouter,
  deps: { keys: KeyService; budgets: BudgetTracker; checkAdmin: (authorization: string | undefined) => void },
): void {
  const { keys, budgets } = deps;
  const guarded = adminGuard(deps.checkAdmin);
  router.service(KeyAdminService, {
    listKeys: (req, ctx) =>
      guarded(ctx, async () => {
        if (req.pageSize < 0) throw new GatewayError("invalid_request", "page_size: must not be negative", { param: "page_size" });
        const size = Math.min(req.pageSize || 100, 1000);
        const offset = req.pageToken === "" ? 0 : Number(Buffer.from(req.pageToken, "base64url").toString("utf8"));
        if (!Number.isInteger(offset) || offset < 0) throw new GatewayError("invalid_request", "page_token: is not a token from an earlier response", { param: "page_token" });
        const all = await keys.list(req.userId || undefined);
        const page = all.slice(offset, offset + size);
        return {
          keys: await Promise.all(page.map((k) => toProto(k, budgets))),
          nextPageToken: offset + size < all.length ? Buffer.from(String(offset + size)).toString("base64url") : "",
        };
      }),
    getKey: (req, ctx) => guarded(ctx, async () => ({ key: await toProto(await keys.get(req.id), budgets) })),
    createKey: (req, ctx) =>
      guarded(ctx, async () => {
        const { key, secret } = await keys.create({ ...toInput(req.key), user_id: req.key?.userId });
        return { key: await toProto(key, budgets), secret };
      }),
    updateKey: (req, ctx) =>
      guarded(ctx, async () => {
        const id = req.key?.id ?? "";
        if (id === "") throw new GatewayError("invalid_request", "key.id: is required", { param: "key.id" });
        return { key: await toProto(await keys.update(id, toInput(req.key, req.updateMask?.paths)), budgets) };
      }),
    deleteKey: (req, ctx) => guarded(ctx, async () => ({ key: await toProto(await keys.revoke(req.id), budgets) })),
  });
}
