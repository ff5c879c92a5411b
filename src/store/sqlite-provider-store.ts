import type { DatabaseSync } from "node:sqlite";
import { GatewayError } from "../errors/gateway-error.ts";
import type { ProviderRecord, ProviderType } from "../providers/provider.ts";
import type { ProviderStore } from "./provider-store.ts";

interface Row {
  name: string;
  type: string;
  base_url: string;
  api_key: string;
  model_names: string;
  create_time: number;
  update_time: number;
  drop_unsupported_params: number;
}

function fromRow(r: Row): ProviderRecord {
  return {
    name: r.name,
    type: r.type as ProviderType,
    baseUrl: r.base_url,
    apiKey: r.api_key,
    modelNames: JSON.parse(r.model_names) as string[],
    dropUnsupportedParams: r.drop_unsupported_params === 1,
    createTime: new Date(r.create_time),
    updateTime: new Date(r.update_time),
  };
}

function params(p: ProviderRecord): Record<string, string | number> {
  return {
    name: p.name,
    type: p.type,
    base_url: p.baseUrl,
    api_key: p.apiKey,
    model_names: JSON.stringify(p.modelNames),
    drop_unsupported_params: p.dropUnsupportedParams ? 1 : 0,
    create_time: p.createTime.getTime(),
    update_time: p.updateTime.getTime(),
  };
}

/** Creates the {@link ProviderStore} on an open embedded database (see `openDatabase`). */
export function createSqliteProviderStore(db: DatabaseSync): ProviderStore {
  const list = db.prepare("SELECT * FROM providers ORDER BY name");
  const get = db.prepare("SELECT * FROM providers WHERE name = ?");
  const insert = db.prepare(
    `INSERT INTO providers (name, type, base_url, api_key, model_names, drop_unsupported_params, create_time, update_time)
     VALUES (:name, :type, :base_url, :api_key, :model_names, :drop_unsupported_params, :create_time, :update_time)`,
  );
  const upsert = db.prepare(
    `INSERT INTO providers (name, type, base_url, api_key, model_names, drop_unsupported_params, create_time, update_time)
     VALUES (:name, :type, :base_url, :api_key, :model_names, :drop_unsupported_params, :create_time, :update_time)
     ON CONFLICT(name) DO UPDATE SET type = excluded.type, base_url = excluded.base_url,
       api_key = excluded.api_key, model_names = excluded.model_names,
       drop_unsupported_params = excluded.drop_unsupported_params, update_time = excluded.update_time`,
  );
  const remove = db.prepare("DELETE FROM providers WHERE name = ?");
  return {
    async list() {
      return (list.all() as unknown as Row[]).map(fromRow);
    },
    async get(name) {
      const row = get.get(name) as unknown as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    async create(record) {
      try {
        insert.run(params(record));
      } catch (cause) {
        if (String((cause as Error).message).includes("UNIQUE")) {
          throw new GatewayError("conflict", `a provider named "${record.name}" exists already`, { param: "name", cause });
        }
        throw cause;
      }
    },
    async put(record) {
      upsert.run(params(record));
    },
    async delete(name) {
      return Number(remove.run(name).changes) > 0;
    },
  };
}
