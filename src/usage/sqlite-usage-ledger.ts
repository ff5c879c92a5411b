import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { recordFromRow, type UsageRecord, type UsageRow } from "./usage-record.ts";
import type { LedgerCursor, UsageFilter, UsageGroup, UsageGroupBy, UsageLedger } from "./usage-ledger.ts";

/** A row of usage_records. */
type Row = Omit<UsageRow, "time" | "streamed" | "tokens_estimated"> & { time: number; streamed: number; tokens_estimated: number };

/** A database row as a record: the same columns, with the time in milliseconds and flags as 0/1. */
function fromRow(r: Row): UsageRecord {
  return recordFromRow({ ...r, time: new Date(r.time).toISOString(), streamed: r.streamed === 1, tokens_estimated: r.tokens_estimated === 1 });
}

function where(f: UsageFilter, after?: LedgerCursor): { sql: string; args: SQLInputValue[] } {
  const parts: string[] = [];
  const args: SQLInputValue[] = [];
  const add = (sql: string, ...values: SQLInputValue[]) => {
    parts.push(sql);
    args.push(...values);
  };
  if (f.from) add("time >= ?", f.from.getTime());
  if (f.to) add("time < ?", f.to.getTime());
  if (f.userId !== undefined) add("user_id = ?", f.userId);
  if (f.keyId !== undefined) add("key_id = ?", f.keyId);
  if (f.model !== undefined) add("requested_model = ?", f.model);
  if (f.provider !== undefined) add("provider = ?", f.provider);
  if (after) add("(time > ? OR (time = ? AND id > ?))", after.time, after.time, after.id);
  return { sql: parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : "", args };
}

const GROUP_COLUMNS: Record<UsageGroupBy, string> = {
  user: "user_id",
  model: "requested_model AS model",
  provider: "provider",
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch') AS day",
};
const GROUP_KEYS: Record<UsageGroupBy, string> = { user: "user_id", model: "model", provider: "provider", day: "day" };

/**
 * Creates the SQLite {@link UsageLedger}. An append is one synchronous
 * INSERT in WAL mode (tens of microseconds): committed before it resolves,
 * so a response that completed is on disk even if the process is killed.
 */
export function createSqliteUsageLedger(db: DatabaseSync): UsageLedger & { appendSync(record: UsageRecord): void } {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO usage_records (id, request_id, attempt, time, user_id, key_id, provider, requested_model,
       served_model, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, duration_ms,
       ttft_ms, status, error_type, surface, streamed, tokens_estimated)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const spent = db.prepare("SELECT COALESCE(SUM(cost_usd), 0) AS total FROM usage_records WHERE key_id = ? AND time >= ?");
  const appendSync = (r: UsageRecord) => {
    insert.run(
      r.id, r.requestId, r.attempt, r.time.getTime(), r.userId, r.keyId, r.provider, r.requestedModel, r.servedModel,
      r.promptTokens, r.completionTokens, r.cachedTokens, r.reasoningTokens, r.costUsd, r.durationMs, r.ttftMs,
      r.status, r.errorType, r.surface, r.streamed ? 1 : 0, r.tokensEstimated ? 1 : 0,
    );
  };
  return {
    appendSync,
    async append(r) {
      appendSync(r);
    },
    async list(filter, limit, after) {
      const w = where(filter, after);
      const rows = db.prepare(`SELECT * FROM usage_records ${w.sql} ORDER BY time, id LIMIT ?`).all(...w.args, limit);
      return (rows as unknown as Row[]).map(fromRow);
    },
    async aggregate(filter, groupBy) {
      const w = where(filter);
      const cols = groupBy.map((g) => GROUP_COLUMNS[g]);
      const keys = groupBy.map((g) => GROUP_KEYS[g]);
      const sql = `SELECT ${[...cols, ""].join(", ")}
          COUNT(*) AS requests, SUM(error_type <> '') AS errors, SUM(prompt_tokens) AS prompt_tokens,
          SUM(completion_tokens) AS completion_tokens, SUM(cached_tokens) AS cached_tokens, SUM(cost_usd) AS cost_usd
        FROM usage_records ${w.sql}
        ${keys.length > 0 ? `GROUP BY ${keys.join(", ")} ORDER BY ${keys.join(", ")}` : ""}`;
      const rows = db.prepare(sql).all(...w.args) as unknown as UsageGroup[];
      return rows.filter((r) => r.requests > 0).map((r) => ({ ...r, errors: Number(r.errors) }));
    },
    async spentSince(keyId, since) {
      return Number((spent.get(keyId, since?.getTime() ?? 0) as { total: number }).total);
    },
  };
}
