import { GatewayError } from "../errors/gateway-error.ts";
import { effectiveBaseUrl } from "../providers/provider-registry.ts";
import type { ProviderRecord } from "../providers/provider.ts";
import type { BalancingStrategy, ModelRouteRecord } from "./model-route.ts";

/** One deployment of a model, resolved: the provider record and the model name to send it. */
export interface Deployment {
  /** `provider/model`: the key of its health, latency and limits. */
  readonly id: string;
  readonly provider: ProviderRecord;
  /** The provider's base URL with the protocol's version path applied (worked out once per provider). */
  readonly baseUrl: string;
  /** The model name to send upstream. */
  readonly model: string;
  readonly weight: number;
  readonly rpm: number | undefined;
  readonly tpm: number | undefined;
  readonly supportsPrefill: boolean;
  /** Whether an operator named it (a route or a provider's model list): its names are bounded, so they can be metric labels. */
  readonly declared: boolean;
}

/** How a model name is served: its deployments and what to do when they fail. */
export interface ModelPlan {
  /** The public model name. */
  readonly name: string;
  /**
   * How it matched: a model route, a name providers list, `provider/model`,
   * or a default pattern.
   */
  readonly match: "route" | "exact" | "prefix" | "pattern";
  /** At least one. */
  readonly deployments: readonly Deployment[];
  /** Undefined means the gateway default. */
  readonly strategy: BalancingStrategy | undefined;
  /** Models to try when every deployment failed. */
  readonly fallbacks: readonly string[];
  readonly firstTokenTimeoutMs: number | undefined;
  readonly stallTimeoutMs: number | undefined;
  /** Whether a stream cut mid-answer may continue on a deployment that supports prefill. */
  readonly continueOnFailure: boolean;
}

/** A default routing rule: model names matching `pattern` go to the provider named `provider`. */
export interface RoutingPattern {
  readonly pattern: string;
  readonly provider: string;
}

/** A model that routes somewhere, for model listings. */
export interface ListedModel {
  readonly id: string;
  /** The provider of its first deployment. */
  readonly provider: string;
  readonly created: number;
  /** Every deployment, as `provider/model`. */
  readonly deployments: readonly { provider: string; model: string }[];
}

/** Resolves model names to deployments from an in-memory snapshot of providers and model routes. */
export interface ModelRouter {
  /**
   * Resolves a model name: model routes first, then names providers list
   * (each listing provider is a deployment), then `provider/model`, then the
   * default patterns.
   * @throws GatewayError `not_found` (code `model_not_found`) when nothing serves it.
   */
  resolve(model: string): ModelPlan;
  /** Every model name a route or a provider lists, by name. */
  list(): ListedModel[];
  /** Every declared deployment (routes and provider model lists), each once. */
  deployments(): Deployment[];
  /** Replaces the providers; the next `resolve` sees the change. */
  loadProviders(providers: readonly ProviderRecord[]): void;
  /** Replaces the model routes; the next `resolve` sees the change. */
  loadRoutes(routes: readonly ModelRouteRecord[]): void;
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

/** Effective base URLs by provider record, so that no request parses one. */
const baseUrls = new WeakMap<ProviderRecord, string>();

function baseUrlOf(provider: ProviderRecord): string {
  let url = baseUrls.get(provider);
  if (url === undefined) {
    url = effectiveBaseUrl(provider.type, provider.baseUrl);
    baseUrls.set(provider, url);
  }
  return url;
}

function single(provider: ProviderRecord, model: string, declared: boolean): Deployment {
  return { id: `${provider.name}/${model}`, provider, baseUrl: baseUrlOf(provider), model, weight: 1, rpm: undefined, tpm: undefined, supportsPrefill: false, declared };
}

function plainPlan(name: string, match: ModelPlan["match"], deployments: Deployment[]): ModelPlan {
  return {
    name,
    match,
    deployments,
    strategy: undefined,
    fallbacks: [],
    firstTokenTimeoutMs: undefined,
    stallTimeoutMs: undefined,
    continueOnFailure: false,
  };
}

/** Creates a router with the given default patterns, in order of precedence. */
export function createModelRouter(patterns: readonly RoutingPattern[]): ModelRouter {
  const rules = patterns.map((p) => ({ re: globToRegExp(p.pattern), provider: p.provider }));
  let providers: readonly ProviderRecord[] = [];
  let routes: readonly ModelRouteRecord[] = [];
  let byName = new Map<string, ProviderRecord>();
  /** Plans of routes and listed names, rebuilt on every load. */
  let plans = new Map<string, ModelPlan>();
  let created = new Map<string, number>();

  function rebuild(): void {
    const ordered = [...providers].sort((a, b) => a.createTime.getTime() - b.createTime.getTime() || a.name.localeCompare(b.name));
    byName = new Map(ordered.map((p) => [p.name, p]));
    const next = new Map<string, ModelPlan>();
    const times = new Map<string, number>();
    for (const p of ordered) {
      for (const m of p.modelNames) {
        const plan = next.get(m);
        if (plan) (plan.deployments as Deployment[]).push(single(p, m, true));
        else next.set(m, plainPlan(m, "exact", [single(p, m, true)]));
        if (!times.has(m)) times.set(m, Math.floor(p.createTime.getTime() / 1000));
      }
    }
    for (const r of routes) {
      const deployments: Deployment[] = [];
      for (const d of r.deployments) {
        const provider = byName.get(d.provider);
        // A deployment whose provider was deleted stops serving; the rest of the route stands.
        if (!provider) continue;
        deployments.push({ ...single(provider, d.model, true), weight: d.weight, rpm: d.rpm, tpm: d.tpm, supportsPrefill: d.supportsPrefill });
      }
      if (deployments.length === 0) continue;
      next.set(r.name, {
        name: r.name,
        match: "route",
        deployments,
        strategy: r.strategy,
        fallbacks: r.fallbacks,
        firstTokenTimeoutMs: r.firstTokenTimeoutMs,
        stallTimeoutMs: r.stallTimeoutMs,
        continueOnFailure: r.continueOnFailure,
      });
      times.set(r.name, Math.floor(r.createTime.getTime() / 1000));
    }
    plans = next;
    created = times;
  }

  return {
    resolve(model) {
      const planned = plans.get(model);
      if (planned) return planned;
      const slash = model.indexOf("/");
      if (slash > 0) {
        const provider = byName.get(model.slice(0, slash));
        const rest = model.slice(slash + 1);
        if (provider && rest !== "") return plainPlan(model, "prefix", [single(provider, rest, false)]);
      }
      for (const rule of rules) {
        if (!rule.re.test(model)) continue;
        const provider = byName.get(rule.provider);
        if (provider) return plainPlan(model, "pattern", [single(provider, model, false)]);
        throw notFound(`The model '${model}' belongs to provider '${rule.provider}', which is not configured.`);
      }
      throw notFound(`The model '${model}' does not exist or no provider serves it.`);
    },
    list() {
      return [...plans.values()]
        .map((p) => ({
          id: p.name,
          provider: (p.deployments[0] as Deployment).provider.name,
          created: created.get(p.name) ?? 0,
          deployments: p.deployments.map((d) => ({ provider: d.provider.name, model: d.model })),
        }))
        .sort((a, b) => a.id.localeCompare(b.id));
    },
    deployments() {
      const seen = new Map<string, Deployment>();
      for (const p of plans.values()) for (const d of p.deployments) if (!seen.has(d.id)) seen.set(d.id, d);
      return [...seen.values()];
    },
    loadProviders(next) {
      providers = next;
      rebuild();
    },
    loadRoutes(next) {
      routes = next;
      rebuild();
    },
  };
}
