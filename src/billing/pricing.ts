import { GatewayError } from "../errors/gateway-error.ts";
import type { Usage } from "../chat/chat-types.ts";
import { builtinPrices, type ModelPrice } from "./builtin-prices.ts";
import type { PriceOverride, PriceStore } from "./price-store.ts";

/** Price fields as an admin sends them (REST names). */
export interface PriceInput {
  provider?: unknown;
  model?: unknown;
  input_per_mtok?: unknown;
  output_per_mtok?: unknown;
  cached_input_per_mtok?: unknown;
}

/** Prices models and computes the cost of usage. */
export interface Pricing {
  /** The most specific price for a model at a provider, or undefined when none is known. */
  priceFor(provider: string, model: string): ModelPrice | undefined;
  /** Operator prices, then built-in ones. */
  list(): { overrides: PriceOverride[]; builtin: readonly ModelPrice[] };
  /** Sets an operator price. @throws GatewayError `invalid_request` naming the field. */
  set(input: PriceInput): Promise<PriceOverride>;
  /** @throws GatewayError `not_found`. */
  delete(provider: string, model: string): Promise<void>;
  /** Loads operator prices from the store. */
  reload(): Promise<void>;
}

/** USD cost of usage at a price; cached prompt tokens at the cached price. */
export function costOf(usage: Usage, price: ModelPrice | undefined): number {
  if (!price) return 0;
  const cached = Math.min(usage.cachedTokens, usage.promptTokens);
  return ((usage.promptTokens - cached) * price.input + cached * price.cachedInput + usage.completionTokens * price.output) / 1e6;
}

function matches(pattern: string, model: string): number {
  const p = pattern.toLowerCase();
  const m = model.toLowerCase();
  if (p.endsWith("*")) return m.startsWith(p.slice(0, -1)) ? p.length - 1 : -1;
  return p === m ? p.length + 1 : -1;
}

function best<T extends ModelPrice>(prices: readonly T[], model: string): T | undefined {
  let found: T | undefined;
  let score = -1;
  for (const p of prices) {
    const s = matches(p.model, model);
    if (s > score) (found = p), (score = s);
  }
  return found;
}

function price(v: unknown, param: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new GatewayError("invalid_request", `${param}: must be a number of at least 0 (USD per million tokens)`, { param });
  }
  return v;
}

/** Creates {@link Pricing} over the built-in table and the operator store. */
export function createPricing(deps: { store: PriceStore }): Pricing {
  let overrides: PriceOverride[] = [];
  const reload = async () => {
    overrides = await deps.store.list();
  };
  return {
    priceFor(provider, model) {
      return best(overrides.filter((o) => o.provider === provider), model) ?? best(builtinPrices, model);
    },
    list: () => ({ overrides, builtin: builtinPrices }),
    async set(input) {
      for (const k of Object.keys(input)) {
        if (!["provider", "model", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok"].includes(k)) {
          throw new GatewayError("invalid_request", `${k}: unknown field`, { param: k });
        }
      }
      if (typeof input.provider !== "string" || input.provider === "") {
        throw new GatewayError("invalid_request", "provider: is required", { param: "provider" });
      }
      if (typeof input.model !== "string" || input.model === "") {
        throw new GatewayError("invalid_request", "model: is required", { param: "model" });
      }
      const inputPrice = price(input.input_per_mtok, "input_per_mtok");
      const p: PriceOverride = {
        provider: input.provider,
        model: input.model,
        input: inputPrice,
        output: price(input.output_per_mtok, "output_per_mtok"),
        cachedInput: price(input.cached_input_per_mtok, "cached_input_per_mtok", inputPrice),
      };
      await deps.store.put(p);
      await reload();
      return p;
    },
    async delete(provider, model) {
      if (!(await deps.store.delete(provider, model))) {
        throw new GatewayError("not_found", `no price is set for model "${model}" at provider "${provider}"`, { code: "price_not_found" });
      }
      await reload();
    },
    reload,
  };
}
