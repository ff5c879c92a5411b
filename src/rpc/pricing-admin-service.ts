import type { ConnectRouter } from "@connectrpc/connect";
import { PricingAdminService } from "../../gen/gateway/v1/pricing_admin_pb.js";
import type { Pricing } from "../billing/pricing.ts";
import { GatewayError } from "../errors/gateway-error.ts";
import { adminGuard } from "./admin-rpc.ts";

function priceOut(p: { provider?: string; model: string; input: number; output: number; cachedInput: number }, builtin: boolean) {
  return {
    $typeName: "gateway.v1.Price" as const,
    provider: p.provider ?? "",
    model: p.model,
    inputPerMtok: p.input,
    outputPerMtok: p.output,
    cachedInputPerMtok: p.cachedInput,
    builtin,
  };
}

/** Registers `gateway.v1.PricingAdminService` (admin key only), over the same {@link Pricing} as REST. */
export function registerPricingAdminService(router: ConnectRouter, deps: { pricing: Pricing; checkAdmin: (authorization: string | undefined) => void }): void {
  const { pricing } = deps;
  const guarded = adminGuard(deps.checkAdmin);
  router.service(PricingAdminService, {
    listPrices: (_req, ctx) =>
      guarded(ctx, async () => {
        const { overrides, builtin } = pricing.list();
        return { prices: [...overrides.map((p) => priceOut(p, false)), ...builtin.map((p) => priceOut(p, true))] };
      }),
    updatePrice: (req, ctx) =>
      guarded(ctx, async () => {
        const p = req.price;
        if (!p) throw new GatewayError("invalid_request", "price: is required", { param: "price" });
        const stored = await pricing.set({
          provider: p.provider,
          model: p.model,
          input_per_mtok: p.inputPerMtok,
          output_per_mtok: p.outputPerMtok,
          cached_input_per_mtok: p.cachedInputPerMtok || p.inputPerMtok,
        });
        return { price: priceOut(stored, false) };
      }),
    deletePrice: (req, ctx) =>
      guarded(ctx, async () => {
        await pricing.delete(req.provider, req.model);
        return {};
      }),
  });
}
