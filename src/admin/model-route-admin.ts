import { GatewayError } from "../errors/gateway-error.ts";
import {
  BALANCING_STRATEGIES,
  type BalancingStrategy,
  type DeploymentSpec,
  type ModelRouteInput,
  type ModelRouteRecord,
  type ModelRouteStore,
} from "../routing/model-route.ts";

const FIELDS = ["name", "strategy", "deployments", "fallbacks", "first_token_timeout_ms", "stall_timeout_ms", "continue_on_failure"];
const DEPLOYMENT_FIELDS = ["provider", "model", "weight", "rpm", "tpm", "supports_prefill"];
const MAX_NAME = 256;
const MAX_DEPLOYMENTS = 64;
const MAX_FALLBACKS = 8;
const MAX_TIMEOUT_MS = 3_600_000;
/** Weights and limits travel as int32 over Connect. */
const MAX_INT32 = 2_147_483_647;

function bad(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `${param}: ${message}`, { param });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks an object for fields a model route does not have. @throws GatewayError naming the field. */
export function checkModelRouteFields(body: unknown): ModelRouteInput {
  if (!isObject(body)) throw new GatewayError("invalid_request", "the request body must be a JSON object");
  for (const key of Object.keys(body)) {
    if (!FIELDS.includes(key)) throw bad(key, `unknown field; a model route has ${FIELDS.join(", ")}`);
  }
  return body as ModelRouteInput;
}

function checkName(v: unknown): string {
  if (typeof v !== "string" || v === "" || v.length > MAX_NAME || /[\s\p{Cc}]/u.test(v)) {
    throw bad("name", `must be a model name of 1 to ${MAX_NAME} characters without whitespace`);
  }
  return v;
}

function checkStrategy(v: unknown): BalancingStrategy | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !BALANCING_STRATEGIES.includes(v as BalancingStrategy)) {
    throw bad("strategy", `must be one of ${BALANCING_STRATEGIES.join(", ")}, or null for the gateway default`);
  }
  return v as BalancingStrategy;
}

/** An integer in [min, max]. @throws GatewayError naming `param`. */
function checkInt(v: unknown, param: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(param, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** Like {@link checkInt}, but null or absent is undefined. */
function optionalInt(v: unknown, param: string, min: number, max: number): number | undefined {
  return v === undefined || v === null ? undefined : checkInt(v, param, min, max);
}

function checkBool(v: unknown, param: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw bad(param, "must be a boolean");
  return v;
}

function checkDeployment(v: unknown, at: string): DeploymentSpec {
  if (!isObject(v)) throw bad(at, "must be an object with provider and model");
  for (const key of Object.keys(v)) {
    if (!DEPLOYMENT_FIELDS.includes(key)) throw bad(`${at}.${key}`, `unknown field; a deployment has ${DEPLOYMENT_FIELDS.join(", ")}`);
  }
  if (typeof v.provider !== "string" || v.provider === "") throw bad(`${at}.provider`, "must be the name of a provider");
  if (typeof v.model !== "string" || v.model.trim() === "") throw bad(`${at}.model`, "must be a non-empty model name");
  return {
    provider: v.provider,
    model: v.model,
    weight: v.weight === undefined || v.weight === null ? 1 : checkInt(v.weight, `${at}.weight`, 1, MAX_INT32),
    rpm: optionalInt(v.rpm, `${at}.rpm`, 1, MAX_INT32),
    tpm: optionalInt(v.tpm, `${at}.tpm`, 1, MAX_INT32),
    supportsPrefill: checkBool(v.supports_prefill, `${at}.supports_prefill`),
  };
}

function checkDeployments(v: unknown): DeploymentSpec[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_DEPLOYMENTS) {
    throw bad("deployments", `must be an array of 1 to ${MAX_DEPLOYMENTS} deployments`);
  }
  const seen = new Set<string>();
  return v.map((item, i) => {
    const d = checkDeployment(item, `deployments[${i}]`);
    const key = JSON.stringify([d.provider, d.model]);
    if (seen.has(key)) throw bad(`deployments[${i}]`, `repeats provider "${d.provider}" with model "${d.model}"`);
    seen.add(key);
    return d;
  });
}

function checkFallbacks(v: unknown, name: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > MAX_FALLBACKS) throw bad("fallbacks", `must be an array of at most ${MAX_FALLBACKS} model names`);
  const seen = new Set<string>();
  return v.map((f, i) => {
    const at = `fallbacks[${i}]`;
    if (typeof f !== "string" || f.trim() === "" || f.length > MAX_NAME) throw bad(at, `must be a model name of 1 to ${MAX_NAME} characters`);
    if (f === name) throw bad(at, "must not name the route itself");
    if (seen.has(f)) throw bad(at, `repeats "${f}"`);
    seen.add(f);
    return f;
  });
}

/** A route as the REST admin API shows it, in snake_case; absent settings are null. */
export function modelRouteJson(r: ModelRouteRecord): Record<string, unknown> {
  return {
    name: r.name,
    strategy: r.strategy ?? null,
    deployments: r.deployments.map((d) => ({
      provider: d.provider,
      model: d.model,
      weight: d.weight,
      rpm: d.rpm ?? null,
      tpm: d.tpm ?? null,
      supports_prefill: d.supportsPrefill,
    })),
    fallbacks: [...r.fallbacks],
    first_token_timeout_ms: r.firstTokenTimeoutMs ?? null,
    stall_timeout_ms: r.stallTimeoutMs ?? null,
    continue_on_failure: r.continueOnFailure,
    create_time: r.createTime.toISOString(),
    update_time: r.updateTime.toISOString(),
  };
}

/**
 * Manages model routes at run time: validates input (every error names its
 * field, such as `deployments[1].weight`), persists it, and calls `onChange`
 * after every change so that routing picks it up.
 */
export interface ModelRouteAdmin {
  /** Every route, by name. */
  list(): Promise<ModelRouteRecord[]>;
  /** @throws GatewayError `not_found` (code `model_route_not_found`). */
  get(name: string): Promise<ModelRouteRecord>;
  /** @throws GatewayError `invalid_request` naming the field, or `conflict` if the name is taken. */
  create(input: ModelRouteInput): Promise<ModelRouteRecord>;
  /**
   * Changes the fields present in `patch`; null resets a setting to its
   * default. The name cannot change. @throws GatewayError `not_found` or `invalid_request`.
   */
  update(name: string, patch: ModelRouteInput): Promise<ModelRouteRecord>;
  /** @throws GatewayError `not_found`. */
  delete(name: string): Promise<void>;
  /** Declares a route from configuration: created, or replaced whole by name. */
  declare(input: ModelRouteInput): Promise<ModelRouteRecord>;
}

/** Creates the {@link ModelRouteAdmin}. */
export function createModelRouteAdmin(deps: {
  store: ModelRouteStore;
  /** Whether a provider by that name exists now. */
  providerExists: (name: string) => Promise<boolean>;
  /** Called after every change, once it is stored. */
  onChange: () => Promise<void>;
  now?: () => Date;
}): ModelRouteAdmin {
  const { store, providerExists, onChange } = deps;
  const now = deps.now ?? (() => new Date());
  const notFound = (name: string) =>
    new GatewayError("not_found", `no model route is named "${name}"`, { code: "model_route_not_found", param: "name" });

  /** Validates a whole route; provider names are looked up only when `checkProviders`. */
  async function build(input: ModelRouteInput, existing: ModelRouteRecord | undefined, checkProviders: boolean): Promise<ModelRouteRecord> {
    checkModelRouteFields(input);
    const name = checkName(input.name);
    const strategy = checkStrategy(input.strategy);
    if (input.deployments === undefined) throw bad("deployments", "is required");
    const deployments = checkDeployments(input.deployments);
    const fallbacks = checkFallbacks(input.fallbacks, name);
    const firstTokenTimeoutMs = optionalInt(input.first_token_timeout_ms, "first_token_timeout_ms", 1, MAX_TIMEOUT_MS);
    const stallTimeoutMs = optionalInt(input.stall_timeout_ms, "stall_timeout_ms", 1, MAX_TIMEOUT_MS);
    const continueOnFailure = checkBool(input.continue_on_failure, "continue_on_failure");
    if (checkProviders) {
      for (const [i, d] of deployments.entries()) {
        if (!(await providerExists(d.provider))) throw bad(`deployments[${i}].provider`, `no provider is named "${d.provider}"`);
      }
    }
    const time = now();
    return {
      name,
      strategy,
      deployments,
      fallbacks,
      firstTokenTimeoutMs,
      stallTimeoutMs,
      continueOnFailure,
      createTime: existing?.createTime ?? time,
      updateTime: time,
    };
  }

  return {
    list: () => store.list(),
    async get(name) {
      return (await store.get(name)) ?? Promise.reject(notFound(name));
    },
    async create(input) {
      const record = await build(input, undefined, true);
      await store.create(record);
      await onChange();
      return record;
    },
    async declare(input) {
      const name = checkName(checkModelRouteFields(input).name);
      const record = await build(input, await store.get(name), true);
      await store.put(record);
      await onChange();
      return record;
    },
    async update(name, patch) {
      checkModelRouteFields(patch);
      const current = await store.get(name);
      if (!current) throw notFound(name);
      if (patch.name !== undefined && patch.name !== name) throw bad("name", "cannot be changed; create a new model route");
      const json = modelRouteJson(current);
      const merged: ModelRouteInput = { name };
      for (const field of FIELDS.slice(1) as (keyof ModelRouteInput)[]) merged[field] = patch[field] !== undefined ? patch[field] : json[field];
      const record = await build(merged, current, patch.deployments !== undefined);
      await store.put(record);
      await onChange();
      return record;
    },
    async delete(name) {
      if (!(await store.delete(name))) throw notFound(name);
      await onChange();
    },
  };
}
