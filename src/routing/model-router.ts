import { GatewayError } from "../errors/gateway-error.ts";
import type { ProviderRecord } from "../providers/provider.ts";

/** Where a model name goes. */
export interface Route {
  readonly provider: ProviderRecord;
  /** The model name to send upstream: as the client gave it, less any `provider/` prefix. */
  readonly model: string;
  /** How it matched: listed by a provider, named as `provider/model`, or by a default pattern. */
  readonly match: "exact" | "prefix" | "pattern";
}

/** A default routing rule: model names matching `pattern` go to the provider named `provider`. */
export interface RoutingPattern {
  readonly pattern: string;
  readonly provider: string;
}

/** A model that routes somewhere, for model listings. */
export interface ListedModel {
  readonly id: string;
  readonly provider: string;
  readonly created: number;
}

/** Resolves model names to providers from an in-memory snapshot of the provider list. */
export interface ModelRouter {
  /**
   * Resolves a model name: exact model names first, then `provider/model`,
   * then the default patterns.
   * @throws GatewayError `not_found` (code `model_not_found`) when nothing serves it.
   */
  resolve(model: string): Route;
  /** Every model name a provider lists, by name. */
  list(): ListedModel[];
  /** Replaces the snapshot; the next `resolve` sees the change. */
  load(providers: readonly ProviderRecord[]): void;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}

function notFound(message: string): GatewayError {
  return new GatewayError("not_found", `${message} List the available models with GET /v1/models.`, {
    code: "model_not_found",
    param: "model",
  });
}

/** Creates a router with the given default patterns, in order of precedence. */
export function createModelRouter(patterns: readonly RoutingPattern[]): ModelRouter {
  const rules = patterns.map((p) => ({ re: globToRegExp(p.pattern), provider: p.provider }));
  let byModel = new Map<string, ProviderRecord>();
  let byName = new Map<string, ProviderRecord>();

  return {
    resolve(model) {
      const listed = byModel.get(model);
      if (listed) return { provider: listed, model, match: "exact" };
      const slash = model.indexOf("/");
      if (slash > 0) {
        const provider = byName.get(model.slice(0, slash));
        const rest = model.slice(slash + 1);
        if (provider && rest !== "") return { provider, model: rest, match: "prefix" };
      }
      for (const rule of rules) {
        if (!rule.re.test(model)) continue;
        const provider = byName.get(rule.provider);
        if (provider) return { provider, model, match: "pattern" };
        throw notFound(`The model '${model}' belongs to provider '${rule.provider}', which is not configured.`);
      }
      throw notFound(`The model '${model}' does not exist or no provider serves it.`);
    },
    list() {
      return [...byModel.entries()]
        .map(([id, p]) => ({ id, provider: p.name, created: Math.floor(p.createTime.getTime() / 1000) }))
        .sort((a, b) => a.id.localeCompare(b.id));
    },
    load(providers) {
      const models = new Map<string, ProviderRecord>();
      const names = new Map<string, ProviderRecord>();
      const ordered = [...providers].sort((a, b) => a.createTime.getTime() - b.createTime.getTime() || a.name.localeCompare(b.name));
      for (const p of ordered) {
        names.set(p.name, p);
        for (const m of p.modelNames) if (!models.has(m)) models.set(m, p);
      }
      byModel = models;
      byName = names;
    },
  };
}
