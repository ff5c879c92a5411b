import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  ProviderAdminService,
  ProviderType as ProtoType,
  type Provider as ProtoProvider,
} from "../../gen/gateway/v1/provider_admin_pb.js";
import { maskKey, type ProviderAdmin, type ProviderInput } from "../admin/provider-admin.ts";
import { GatewayError } from "../errors/gateway-error.ts";
import type { ProviderRecord, ProviderType } from "../providers/provider.ts";
import { adminGuard, pageByName } from "./admin-rpc.ts";

const TYPES: Record<number, ProviderType | undefined> = {
  [ProtoType.UNSPECIFIED]: undefined,
  [ProtoType.OPENAI]: "openai",
  [ProtoType.ANTHROPIC]: "anthropic",
  [ProtoType.GEMINI]: "gemini",
};
const TO_PROTO: Record<ProviderType, ProtoType> = { openai: ProtoType.OPENAI, anthropic: ProtoType.ANTHROPIC, gemini: ProtoType.GEMINI };
const MASK_FIELDS = new Set(["type", "base_url", "api_key", "model_names", "drop_unsupported_params"]);

function toProto(p: ProviderRecord): ProtoProvider {
  return {
    $typeName: "gateway.v1.Provider",
    name: p.name,
    type: TO_PROTO[p.type],
    baseUrl: p.baseUrl,
    apiKey: maskKey(p.apiKey),
    modelNames: [...p.modelNames],
    dropUnsupportedParams: p.dropUnsupportedParams,
    createTime: timestampFromDate(p.createTime),
    updateTime: timestampFromDate(p.updateTime),
  };
}

/** The admin input of the fields set in a proto provider (or named by a mask). */
function toInput(p: ProtoProvider | undefined, mask?: readonly string[]): ProviderInput {
  if (!p) throw new GatewayError("invalid_request", "provider: is required", { param: "provider" });
  const all: ProviderInput = {
    type: TYPES[p.type],
    base_url: p.baseUrl,
    api_key: p.apiKey,
    model_names: p.modelNames,
    drop_unsupported_params: p.dropUnsupportedParams,
  };
  if (mask && mask.length > 0) {
    const input: ProviderInput = {};
    for (const path of mask) {
      if (!MASK_FIELDS.has(path)) throw new GatewayError("invalid_request", `update_mask: unknown or immutable field "${path}"`, { param: "update_mask" });
      const key = path as keyof ProviderInput;
      input[key] = all[key] ?? (path === "type" ? "openai" : undefined);
    }
    return input;
  }
  return {
    ...(p.name !== "" && { name: p.name }),
    ...(all.type !== undefined && { type: all.type }),
    ...(p.baseUrl !== "" && { base_url: p.baseUrl }),
    ...(p.apiKey !== "" && { api_key: p.apiKey }),
    ...(p.modelNames.length > 0 && { model_names: p.modelNames }),
    ...(p.dropUnsupportedParams && { drop_unsupported_params: true }),
  };
}

/**
 * Registers `gateway.v1.ProviderAdminService`; every call needs the admin
 * key. Reads and writes go through the same {@link ProviderAdmin} as REST.
 */
export function registerProviderAdminService(
  router: ConnectRouter,
  deps: { admin: ProviderAdmin; checkAdmin: (authorization: string | undefined) => void },
): void {
  const { admin } = deps;
  const guarded = adminGuard(deps.checkAdmin);
  router.service(ProviderAdminService, {
    listProviders: (req, ctx) =>
      guarded(ctx, async () => {
        const { page, nextPageToken } = pageByName(await admin.list(), (x) => x.name, req);
        return { providers: page.map(toProto), nextPageToken };
      }),
    getProvider: (req, ctx) => guarded(ctx, async () => ({ provider: toProto(await admin.get(req.name)) })),
    createProvider: (req, ctx) => guarded(ctx, async () => ({ provider: toProto(await admin.create(toInput(req.provider))) })),
    updateProvider: (req, ctx) =>
      guarded(ctx, async () => {
        const name = req.provider?.name ?? "";
        if (name === "") throw new GatewayError("invalid_request", "provider.name: is required", { param: "provider.name" });
        const input = toInput(req.provider, req.updateMask?.paths);
        delete input.name;
        return { provider: toProto(await admin.update(name, input)) };
      }),
    deleteProvider: (req, ctx) =>
      guarded(ctx, async () => {
        await admin.delete(req.name);
        return {};
      }),
  });
}
