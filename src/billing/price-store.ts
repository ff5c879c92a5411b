import type { DatabaseSync } from "node:sqlite";
import type { ModelPrice } from "./builtin-prices.ts";

/** A price an operator set for one model (or prefix) at one provider. */
export interface PriceOverride extends ModelPrice {
  readonly provider: string;
}

/** Where operator prices persist (SQLite by default; PostgreSQL later). */
export interface PriceStore {
  list(): Promise<PriceOverride[]>;
  /** Adds or replaces the price of (provider, model). */
  put(price: PriceOverride): Promise<void>;
  /** Removes it; false if there was none. */
  delete(provider: string, model: string): Promise<boolean>;
}

/** Creates the SQLite {@link PriceStore}. */
export function createSqlitePriceStore(db: DatabaseSync, now: () => Date = () => new Date()): PriceStore {
  const list = db.prepare("SELECT * FROM prices ORDER BY provider, model");
  const upsert = db.prepare(
    `INSERT INTO prices (provider, model, input_per_mtok, output_per_mtok, cached_input_per_mtok, update_time)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(provider, model) DO UPDATE SET input_per_mtok = excluded.input_per_mtok,
       output_per_mtok = excluded.output_per_mtok, cached_input_per_mtok = excluded.cached_input_per_mtok,
       update_time = excluded.update_time`,
  );
  const remove = db.prepare("DELETE FROM prices WHERE provider = ? AND model = ?");
  return {
    async list() {
      return (list.all() as { provider: string; model: string; input_per_mtok: number; output_per_mtok: number; cached_input_per_mtok: number }[]).map((r) => ({
        provider: r.provider,
        model: r.model,
        input: r.input_per_mtok,
        output: r.output_per_mtok,
        cachedInput: r.cached_input_per_mtok,
      }));
    },
    async put(p) {
      upsert.run(p.provider, p.model, p.input, p.output, p.cachedInput, now().getTime());
    },
    async delete(provider, model) {
      return Number(remove.run(provider, model).changes) > 0;
    },
  };
}
