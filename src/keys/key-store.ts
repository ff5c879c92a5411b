import type { ApiKeyRecord } from "./api-key.ts";

/**
 * Where gateway keys persist. The embedded SQLite store is the default; a
 * PostgreSQL store shared by several replicas implements the same interface.
 */
export interface KeyStore {
  /** Keys, newest first, optionally of one user. */
  list(userId?: string): Promise<ApiKeyRecord[]>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  /** The key whose secret hashes to `secretHash`. */
  findByHash(secretHash: string): Promise<ApiKeyRecord | undefined>;
  /** Adds or replaces a key by id. */
  put(key: ApiKeyRecord): Promise<void>;
}
