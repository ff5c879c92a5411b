import type { DatabaseSync } from "node:sqlite";
import { GatewayError } from "../errors/gateway-error.ts";
import type { BalancingStrategy, DeploymentSpec, ModelRouteRecord, ModelRouteStore } from "../routing/model-route.ts";

interface Row {
  name: string;
  strategy: string | null;
  deployments: string;
  fallbacks: string;
  first_token_timeout_ms: number | null;
  stall_timeout_ms: number | null;
  continue_on_failure: number;
  create_time: number;
  update_time: number;
}

/** A deployment as the `deployments` JSON column holds it (the REST field names). */
interface StoredDeployment {
  provider: string;
  model: string;
  weight: number;
  rpm: number | null;
  tpm: number | null;
  supports_prefill: boolean;
}

function fromRow(r: Row): ModelRouteRecord {
  return {
    name: r.name,
    strategy: (r.strategy ?? undefined) as BalancingStrategy | undefined,
    deployments: (JSON.parse(r.deployments) as StoredDeployment[]).map(
      (d): DeploymentSpec => ({
        provider: d.provider,
        model: d.model,
        weight: d.weight,
        rpm: d.rpm ?? undefined,
        tpm: d.tpm ?? undefined,
        supportsPrefill: d.supports_prefill,
      }),
    ),
    fallbacks: JSON.parse(r.fallbacks) as string[],
    firstTokenTimeoutMs: r.first_token_timeout_ms ?? undefined,
    stallTimeoutMs: r.stall_timeout_ms ?? undefined,
    continueOnFailure: r.continue_on_failure === 1,
    createTime: new Date(r.create_time),
    updateTime: new Date(r.update_time),
  };
}

function params(r: ModelRouteRecord): Record<string, string | number | null> {
  const deployments: StoredDeployment[] = r.deployments.map((d) => ({
    provider: d.provider,
    model: d.model,
    weight: d.weight,
    rpm: d.rpm ?? null,
    tpm: d.tpm ?? null,
    supports_prefill: d.supportsPrefill,
  }));
  return {
    name: r.name,
    strategy: r.strategy ?? null,
    deployments: JSON.stringify(deployments),
    fallbacks: JSON.stringify(r.fallbacks),
    first_token_timeout_ms: r.firstTokenTimeoutMs ?? null,
    stall_timeout_ms: r.stallTimeoutMs ?? null,
    continue_on_failure: r.continueOnFailure ? 1 : 0,
    create_time: r.createTime.getTime(),
    update_time: r.updateTime.getTime(),
  };
}

const COLUMNS = "name, strategy, deployments, fallbacks, first_token_timeout_ms, stall_timeout_ms, continue_on_failure, create_time, update_time";
const VALUES = ":name, :strategy, :deployments, :fallbacks, :first_token_timeout_ms, :stall_timeout_ms, :continue_on_failure, :create_time, :update_time";

/** Creates the {@link ModelRouteStore} on an open embedded database (see `openDatabase`). */
export function createSqliteModelRouteStore(db: DatabaseSync): ModelRouteStore {
  const list = db.prepare("SELECT * FROM model_routes ORDER BY name");
  const get = db.prepare("SELECT * FROM model_routes WHERE name = ?");
  const insert = db.prepare(`INSERT INTO model_routes (${COLUMNS}) VALUES (${VALUES})`);
  const upsert = db.prepare(
    `INSERT INTO model_routes (${COLUMNS}) VALUES (${VALUES})
     ON CONFLICT(name) DO UPDATE SET strategy = excluded.strategy, deployments = excluded.deployments,
       fallbacks = excluded.fallbacks, first_token_timeout_ms = excluded.first_token_timeout_ms,
       stall_timeout_ms = excluded.stall_timeout_ms, continue_on_failure = excluded.continue_on_failure,
       update_time = excluded.update_time`,
  );
  const remove = db.prepare("DELETE FROM model_routes WHERE name = ?");
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
          throw new GatewayError("conflict", `a model route named "${record.name}" exists already`, { param: "name", cause });
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
