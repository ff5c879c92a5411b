import type { DatabaseSync } from "node:sqlite";
import type { ApiKeyRecord, BudgetPeriod } from "./api-key.ts";
import type { KeyStore } from "./key-store.ts";

interface Row {
  id: string;
  user_id: string;
  name: string;
  secret_hash: string;
  secret_prefix: string;
  models: string;
  budget_usd: number | null;
  budget_period: string;
  expire_time: number | null;
  rpm: number | null;
  tpm: number | null;
  create_time: number;
  revoke_time: number | null;
}

const date = (ms: number | null) => (ms === null ? undefined : new Date(ms));

function fromRow(r: Row): ApiKeyRecord {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    secretHash: r.secret_hash,
    secretPrefix: r.secret_prefix,
    models: JSON.parse(r.models) as string[],
    budgetUsd: r.budget_usd ?? undefined,
    budgetPeriod: r.budget_period as BudgetPeriod,
    expireTime: date(r.expire_time),
    rpm: r.rpm ?? undefined,
    tpm: r.tpm ?? undefined,
    createTime: new Date(r.create_time),
    revokeTime: date(r.revoke_time),
  };
}

/** Creates the {@link KeyStore} on an open embedded database (see `openDatabase`). */
export function createSqliteKeyStore(db: DatabaseSync): KeyStore {
  const all = db.prepare("SELECT * FROM api_keys ORDER BY create_time DESC, id");
  const byUser = db.prepare("SELECT * FROM api_keys WHERE user_id = ? ORDER BY create_time DESC, id");
  const byId = db.prepare("SELECT * FROM api_keys WHERE id = ?");
  const byHash = db.prepare("SELECT * FROM api_keys WHERE secret_hash = ?");
  const upsert = db.prepare(
    `INSERT INTO api_keys (id, user_id, name, secret_hash, secret_prefix, models, budget_usd, budget_period,
       expire_time, rpm, tpm, create_time, revoke_time)
     VALUES (:id, :user_id, :name, :secret_hash, :secret_prefix, :models, :budget_usd, :budget_period,
       :expire_time, :rpm, :tpm, :create_time, :revoke_time)
     ON CONFLICT(id) DO UPDATE SET name = excluded.name, models = excluded.models, budget_usd = excluded.budget_usd,
       budget_period = excluded.budget_period, expire_time = excluded.expire_time, rpm = excluded.rpm,
       tpm = excluded.tpm, revoke_time = excluded.revoke_time`,
  );
  return {
    async list(userId) {
      const rows = (userId === undefined ? all.all() : byUser.all(userId)) as unknown as Row[];
      return rows.map(fromRow);
    },
    async get(id) {
      const row = byId.get(id) as unknown as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    async findByHash(hash) {
      const row = byHash.get(hash) as unknown as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    async put(k) {
      upsert.run({
        id: k.id,
        user_id: k.userId,
        name: k.name,
        secret_hash: k.secretHash,
        secret_prefix: k.secretPrefix,
        models: JSON.stringify(k.models),
        budget_usd: k.budgetUsd ?? null,
        budget_period: k.budgetPeriod,
        expire_time: k.expireTime?.getTime() ?? null,
        rpm: k.rpm ?? null,
        tpm: k.tpm ?? null,
        create_time: k.createTime.getTime(),
        revoke_time: k.revokeTime?.getTime() ?? null,
      });
    },
  };
}
