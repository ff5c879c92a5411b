import { GatewayError } from "../errors/gateway-error.ts";
import { isSupportedType, providerTypes } from "../providers/provider-registry.ts";
import type { ProviderRecord, ProviderType } from "../providers/provider.ts";
import type { ModelRouter } from "../routing/model-router.ts";
import type { ProviderStore } from "../store/provider-store.ts";

/** Provider fields as an admin sends them (REST names; Connect maps to these). */
export interface ProviderInput {
  name?: unknown;
  type?: unknown;
  base_url?: unknown;
  api_key?: unknown;
  model_names?: unknown;
  drop_unsupported_params?: unknown;
}

const FIELDS = new Set(["name", "type", "base_url", "api_key", "model_names", "drop_unsupported_params"]);
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MAX_MODELS = 1000;

function bad(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `${param}: ${message}`, { param });
}

/** Checks an object for fields a provider does not have. @throws GatewayError naming the field. */
export function checkProviderFields(body: unknown): ProviderInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatewayError("invalid_request", "the request body must be a JSON object");
  }
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) throw bad(key, `unknown field; a provider has ${[...FIELDS].join(", ")}`);
  }
  return body as ProviderInput;
}

function checkType(v: unknown): ProviderType {
  if (typeof v !== "string" || !(v in providerTypes)) {
    throw bad("type", `must be one of ${Object.keys(providerTypes).join(", ")}`);
  }
  const type = v as ProviderType;
  if (!isSupportedType(type)) throw bad("type", `type "${type}" is not supported by this version of the gateway`);
  return type;
}

function checkBaseUrl(v: unknown): string {
  if (typeof v !== "string") throw bad("base_url", "must be an http or https URL");
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw bad("base_url", "must be an http or https URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw bad("base_url", "must be an http or https URL");
  if (url.username || url.password) throw bad("base_url", "must not carry credentials; use api_key");
  return v.replace(/\/+$/, "");
}

function checkModels(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((m) => typeof m === "string" && m.trim() !== "")) {
    throw bad("model_names", "must be an array of non-empty strings");
  }
  if (v.length > MAX_MODELS) throw bad("model_names", `must have at most ${MAX_MODELS} entries`);
  return [...new Set(v as string[])];
}

function checkBool(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw bad("drop_unsupported_params", "must be a boolean");
  return v;
}

function checkKey(v: unknown): string {
  if (typeof v !== "string") throw bad("api_key", "must be a string");
  return v;
}

/** Shows an API key without revealing it: a long key keeps a short prefix and suffix, a short one none. */
export function maskKey(key: string): string {
  if (key === "") return "";
  return key.length >= 20 ? `${key.slice(0, 3)}...${key.slice(-4)}` : "****";
}

/** A provider name from a base URL's host: "https://api.newprovider.com" → "newprovider". */
export function nameFromBaseUrl(baseUrl: string): string {
  const labels = new URL(baseUrl).hostname.toLowerCase().split(".").filter((l) => l !== "");
  const isIp = labels.every((l) => /^\d+$/.test(l));
  let parts = isIp ? labels : labels.filter((l, i) => !(i === 0 && (l === "api" || l === "www")));
  if (!isIp && parts.length > 1) parts = parts.slice(0, -1);
  const name = parts.join("-").replace(/[^a-z0-9_-]/g, "-").replace(/^[-_]+/, "").slice(0, 50);
  return name === "" ? "provider" : name;
}

/**
 * Manages providers at run time: validates input, persists it, and reloads
 * the router so the next request sees the change.
 */
export interface ProviderAdmin {
  list(): Promise<ProviderRecord[]>;
  /** @throws GatewayError `not_found`. */
  get(name: string): Promise<ProviderRecord>;
  /** @throws GatewayError `invalid_request` naming the field, or `conflict`. */
  create(input: ProviderInput): Promise<ProviderRecord>;
  /** Changes the fields present in `patch`. @throws GatewayError `not_found` or `invalid_request`. */
  update(name: string, patch: ProviderInput): Promise<ProviderRecord>;
  /** @throws GatewayError `not_found`. */
  delete(name: string): Promise<void>;
  /** Declares a provider from configuration: created, or replaced by name. */
  declare(input: ProviderInput): Promise<ProviderRecord>;
  /** Loads the router from the store. */
  reload(): Promise<void>;
}

/** Creates the {@link ProviderAdmin}. */
export function createProviderAdmin(deps: { store: ProviderStore; router: ModelRouter; now?: () => Date }): ProviderAdmin {
  const { store, router } = deps;
  const now = deps.now ?? (() => new Date());
  const reload = async () => router.loadProviders(await store.list());
  const notFound = (name: string) =>
    new GatewayError("not_found", `no provider is named "${name}"`, { code: "provider_not_found", param: "name" });

  function build(input: ProviderInput, name: string, existing?: ProviderRecord): ProviderRecord {
    const time = now();
    return {
      name,
      type: input.type === undefined ? "openai" : checkType(input.type),
      baseUrl: checkBaseUrl(input.base_url),
      apiKey: input.api_key === undefined || input.api_key === null ? "" : checkKey(input.api_key),
      modelNames: input.model_names === undefined ? [] : checkModels(input.model_names),
      dropUnsupportedParams: checkBool(input.drop_unsupported_params),
      createTime: existing?.createTime ?? time,
      updateTime: time,
    };
  }

  async function freeName(base: string): Promise<string> {
    for (let i = 1; ; i++) {
      const candidate = i === 1 ? base : `${base}-${i}`;
      if (!(await store.get(candidate))) return candidate;
    }
  }

  async function nameOf(input: ProviderInput): Promise<string> {
    if (input.name === undefined || input.name === null || input.name === "") {
      return freeName(nameFromBaseUrl(checkBaseUrl(input.base_url)));
    }
    if (typeof input.name !== "string" || !NAME.test(input.name)) {
      throw bad("name", "must be 1 to 63 lower case letters, digits, '-' or '_', starting with a letter or digit");
    }
    return input.name;
  }

  return {
    list: () => store.list(),
    async get(name) {
      return (await store.get(name)) ?? Promise.reject(notFound(name));
    },
    async create(input) {
      if (input.base_url === undefined) throw bad("base_url", "is required");
      const record = build(input, await nameOf(input));
      await store.create(record);
      await reload();
      return record;
    },
    async declare(input) {
      const name = await nameOf(input);
      const record = build(input, name, await store.get(name));
      await store.put(record);
      await reload();
      return record;
    },
    async update(name, patch) {
      const current = await store.get(name);
      if (!current) throw notFound(name);
      if (patch.name !== undefined && patch.name !== name) throw bad("name", "cannot be changed; create a new provider");
      const apiKey = patch.api_key === undefined || patch.api_key === maskKey(current.apiKey) ? current.apiKey : patch.api_key;
      const record = build(
        {
          type: patch.type ?? current.type,
          base_url: patch.base_url ?? current.baseUrl,
          api_key: apiKey,
          model_names: patch.model_names ?? current.modelNames,
          drop_unsupported_params: patch.drop_unsupported_params ?? current.dropUnsupportedParams,
        },
        name,
        current,
      );
      await store.put(record);
      await reload();
      return record;
    },
    async delete(name) {
      if (!(await store.delete(name))) throw notFound(name);
      await reload();
    },
    reload,
  };
}
