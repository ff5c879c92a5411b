import { createHash, randomBytes } from "node:crypto";

/** The window a key's budget applies to. */
export type BudgetPeriod = "day" | "month" | "total";

/** A caller's gateway key as stored: the secret itself is kept only as a hash. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  /** SHA-256 of the secret, hex. */
  readonly secretHash: string;
  /** The first characters of the secret, to recognise it. */
  readonly secretPrefix: string;
  /** Models the key may use; empty means all. */
  readonly models: readonly string[];
  readonly budgetUsd: number | undefined;
  readonly budgetPeriod: BudgetPeriod;
  readonly expireTime: Date | undefined;
  readonly rpm: number | undefined;
  readonly tpm: number | undefined;
  readonly createTime: Date;
  readonly revokeTime: Date | undefined;
}

/** The caller a request is served for. */
export interface Caller {
  readonly userId: string;
  /** The key id; "admin" for the admin key. */
  readonly keyId: string;
  /** The key's record; undefined for the admin key, which has no limits. */
  readonly key: ApiKeyRecord | undefined;
}

/** The admin key's caller: user "admin", no limits. */
export const ADMIN_CALLER: Caller = { userId: "admin", keyId: "admin", key: undefined };

/** A new random secret, "gw-" and 43 URL-safe characters (256 bits). */
export function newSecret(): string {
  return `gw-${randomBytes(32).toString("base64url")}`;
}

/** A new key id. */
export function newKeyId(): string {
  return `key_${randomBytes(9).toString("base64url")}`;
}

/** The stored form of a secret. Secrets are random and long, so a fast hash is safe here. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The start of the current budget period of a key at `now` (UTC), or undefined for "total". */
export function periodStart(period: BudgetPeriod, now: Date): Date | undefined {
  switch (period) {
    case "day":
      return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    case "month":
      return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    case "total":
      return undefined;
    default: {
      const never: never = period;
      return never;
    }
  }
}
