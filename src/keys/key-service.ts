import { createHash } from "node:crypto";
import { GatewayError } from "../errors/gateway-error.ts";
import { bearerToken } from "../admin/admin-auth.ts";
import { ADMIN_CALLER, hashSecret, newKeyId, newSecret, type ApiKeyRecord, type BudgetPeriod, type Caller } from "./api-key.ts";
import type { KeyStore } from "./key-store.ts";

/** Key fields as an admin sends them (REST names; Connect maps to these). */
export interface KeyInput {
  user_id?: unknown;
  name?: unknown;
  models?: unknown;
  budget_usd?: unknown;
  budget_period?: unknown;
  expires_at?: unknown;
  rpm?: unknown;
  tpm?: unknown;
}

const FIELDS = new Set(["user_id", "name", "models", "budget_usd", "budget_period", "expires_at", "rpm", "tpm"]);
const PERIODS = new Set(["day", "month", "total"]);

function bad(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `${param}: ${message}`, { param });
}

/** Checks an object for fields a key does not have. @throws GatewayError naming the field. */
export function checkKeyFields(body: unknown): KeyInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatewayError("invalid_request", "the request body must be a JSON object");
  }
  for (const k of Object.keys(body)) if (!FIELDS.has(k)) throw bad(k, `unknown field; a key has ${[...FIELDS].join(", ")}`);
  return body as KeyInput;
}

function optionalNumber(v: unknown, param: string, integer: boolean): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && (!Number.isInteger(v) || v < 1))) {
    throw bad(param, integer ? "must be a positive integer" : "must be a number of at least 0");
  }
  return v;
}

/** The key fields of `input` checked and applied over `base`. */
function apply(base: ApiKeyRecord, input: KeyInput): ApiKeyRecord {
  const out: { -readonly [K in keyof ApiKeyRecord]: ApiKeyRecord[K] } = { ...base };
  if (input.name !== undefined) {
    if (typeof input.name !== "string" || input.name.length > 200) throw bad("name", "must be a string of at most 200 characters");
    out.name = input.name;
  }
  if (input.models !== undefined) {
    if (!Array.isArray(input.models) || !input.models.every((m) => typeof m === "string" && m !== "")) {
      throw bad("models", "must be an array of model names");
    }
    out.models = [...new Set(input.models as string[])];
  }
  if (input.budget_usd !== undefined) out.budgetUsd = optionalNumber(input.budget_usd, "budget_usd", false);
  if (input.budget_period !== undefined) {
    if (typeof input.budget_period !== "string" || !PERIODS.has(input.budget_period)) throw bad("budget_period", 'must be "day", "month" or "total"');
    out.budgetPeriod = input.budget_period as BudgetPeriod;
  }
  if (input.expires_at !== undefined) {
    if (input.expires_at === null) out.expireTime = undefined;
    else {
      const t = typeof input.expires_at === "string" ? Date.parse(input.expires_at) : Number.NaN;
      if (Number.isNaN(t)) throw bad("expires_at", "must be an ISO 8601 time");
      out.expireTime = new Date(t);
    }
  }
  if (input.rpm !== undefined) out.rpm = optionalNumber(input.rpm, "rpm", true);
  if (input.tpm !== undefined) out.tpm = optionalNumber(input.tpm, "tpm", true);
  return out;
}

/** Issues, changes and revokes gateway keys, and authenticates callers. */
export interface KeyService {
  /** @throws GatewayError `invalid_request` naming the field. */
  create(input: KeyInput): Promise<{ key: ApiKeyRecord; secret: string }>;
  list(userId?: string): Promise<ApiKeyRecord[]>;
  /** @throws GatewayError `not_found`. */
  get(id: string): Promise<ApiKeyRecord>;
  /** @throws GatewayError `not_found` or `invalid_request`. */
  update(id: string, patch: KeyInput): Promise<ApiKeyRecord>;
  /** Revokes at once. @throws GatewayError `not_found`. */
  revoke(id: string): Promise<ApiKeyRecord>;
  /**
   * The caller an Authorization header stands for: the admin key is user
   * "admin"; otherwise a gateway key that is neither revoked nor expired.
   * @throws GatewayError `unauthenticated` (code `invalid_api_key`).
   */
  authenticate(authorization: string | null | undefined): Promise<Caller>;
}

/**
 * Creates the {@link KeyService}; `isAdminDigest` compares a token's SHA-256
 * digest with the admin key's in constant time (one hash serves both tests).
 */
export function createKeyService(deps: { store: KeyStore; isAdminDigest: (digest: Buffer) => boolean; now?: () => Date }): KeyService {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  /** Keys by secret hash, so a request costs no database read; updated on every change here. */
  const cache = new Map<string, ApiKeyRecord>();
  const MAX_CACHE = 100_000;
  const remember = (k: ApiKeyRecord) => {
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(k.secretHash, k);
  };
  const notFound = (id: string) => new GatewayError("not_found", `no key has the id "${id}"`, { code: "key_not_found", param: "id" });
  const unauthenticated = (message: string) => new GatewayError("unauthenticated", message, { code: "invalid_api_key" });

  async function get(id: string): Promise<ApiKeyRecord> {
    return (await store.get(id)) ?? Promise.reject(notFound(id));
  }

  return {
    async create(input) {
      if (typeof input.user_id !== "string" || !/^\S{1,128}$/.test(input.user_id)) {
        throw bad("user_id", "is required: 1 to 128 characters without spaces");
      }
      const secret = newSecret();
      const base: ApiKeyRecord = {
        id: newKeyId(),
        userId: input.user_id,
        name: "",
        secretHash: hashSecret(secret),
        secretPrefix: secret.slice(0, 10),
        models: [],
        budgetUsd: undefined,
        budgetPeriod: "total",
        expireTime: undefined,
        rpm: undefined,
        tpm: undefined,
        createTime: now(),
        revokeTime: undefined,
      };
      const key = apply(base, input);
      await store.put(key);
      remember(key);
      return { key, secret };
    },
    list: (userId) => store.list(userId),
    get,
    async update(id, patch) {
      if (patch.user_id !== undefined) throw bad("user_id", "cannot be changed; issue a new key");
      const key = apply(await get(id), patch);
      await store.put(key);
      remember(key);
      return key;
    },
    async revoke(id) {
      const current = await get(id);
      const key = current.revokeTime ? current : { ...current, revokeTime: now() };
      await store.put(key);
      remember(key);
      return key;
    },
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined) throw unauthenticated("send your gateway key as 'Authorization: Bearer <key>'");
      const digest = createHash("sha256").update(token).digest();
      if (deps.isAdminDigest(digest)) return ADMIN_CALLER;
      // The stored hash of a secret (hashSecret): the same digest, in hex.
      const hash = digest.toString("hex");
      let key = cache.get(hash);
      if (!key) {
        key = await store.findByHash(hash);
        if (key) remember(key);
      }
      if (!key) throw unauthenticated("the API key is not valid");
      if (key.revokeTime) throw unauthenticated("the API key has been revoked");
      if (key.expireTime && key.expireTime.getTime() <= now().getTime()) throw unauthenticated("the API key has expired");
      return { userId: key.userId, keyId: key.id, key };
    },
  };
}
