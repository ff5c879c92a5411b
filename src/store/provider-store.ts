import type { ProviderRecord } from "../providers/provider.ts";

/**
 * Where providers persist. The embedded SQLite store is the default; a
 * PostgreSQL store shared by several replicas implements the same interface.
 */
export interface ProviderStore {
  /** Every provider, ordered by name. */
  list(): Promise<ProviderRecord[]>;
  /** One provider, or undefined. */
  get(name: string): Promise<ProviderRecord | undefined>;
  /** Adds a provider. @throws GatewayError `conflict` if the name is taken. */
  create(record: ProviderRecord): Promise<void>;
  /** Adds or replaces a provider by name. */
  put(record: ProviderRecord): Promise<void>;
  /** Removes a provider; false if there was none. */
  delete(name: string): Promise<boolean>;
}
