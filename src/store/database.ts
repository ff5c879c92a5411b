import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** Schema steps, applied in order once each; append, never edit. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE providers (
     name TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     base_url TEXT NOT NULL,
     api_key TEXT NOT NULL,
     model_names TEXT NOT NULL,
     create_time INTEGER NOT NULL,
     update_time INTEGER NOT NULL
   )`,
  `ALTER TABLE providers ADD COLUMN drop_unsupported_params INTEGER NOT NULL DEFAULT 0`,
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     name TEXT NOT NULL,
     secret_hash TEXT NOT NULL UNIQUE,
     secret_prefix TEXT NOT NULL,
     models TEXT NOT NULL,
     budget_usd REAL,
     budget_period TEXT NOT NULL,
     expire_time INTEGER,
     rpm INTEGER,
     tpm INTEGER,
     create_time INTEGER NOT NULL,
     revoke_time INTEGER
   );
   CREATE INDEX api_keys_user ON api_keys (user_id)`,
  `CREATE TABLE usage_records (
     id TEXT PRIMARY KEY,
     request_id TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     time INTEGER NOT NULL,
     user_id TEXT NOT NULL,
     key_id TEXT NOT NULL,
     provider TEXT NOT NULL,
     requested_model TEXT NOT NULL,
     served_model TEXT NOT NULL,
     prompt_tokens INTEGER NOT NULL,
     completion_tokens INTEGER NOT NULL,
     cached_tokens INTEGER NOT NULL,
     reasoning_tokens INTEGER NOT NULL,
     cost_usd REAL NOT NULL,
     duration_ms INTEGER NOT NULL,
     ttft_ms INTEGER NOT NULL,
     status INTEGER NOT NULL,
     error_type TEXT NOT NULL,
     surface TEXT NOT NULL,
     streamed INTEGER NOT NULL,
     tokens_estimated INTEGER NOT NULL
   );
   CREATE INDEX usage_records_time ON usage_records (time, id);
   CREATE INDEX usage_records_key_time ON usage_records (key_id, time)`,
  `CREATE TABLE prices (
     provider TEXT NOT NULL,
     model TEXT NOT NULL,
     input_per_mtok REAL NOT NULL,
     output_per_mtok REAL NOT NULL,
     cached_input_per_mtok REAL NOT NULL,
     update_time INTEGER NOT NULL,
     PRIMARY KEY (provider, model)
   )`,
  `CREATE TABLE model_routes (
     name TEXT PRIMARY KEY,
     strategy TEXT,
     deployments TEXT NOT NULL,
     fallbacks TEXT NOT NULL,
     first_token_timeout_ms INTEGER,
     stall_timeout_ms INTEGER,
     continue_on_failure INTEGER NOT NULL DEFAULT 0,
     create_time INTEGER NOT NULL,
     update_time INTEGER NOT NULL
   )`,
];

/**
 * Opens (creating it and its folder if needed) the embedded SQLite database
 * at `path`, or an in-memory one for ":memory:", and brings its schema up to
 * date. WAL mode with synchronous=NORMAL: a committed write survives a
 * process kill.
 */
export function openDatabase(path: string): DatabaseSync {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
  const version = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  for (let i = version; i < MIGRATIONS.length; i++) {
    db.exec("BEGIN");
    db.exec(MIGRATIONS[i] as string);
    db.exec(`PRAGMA user_version = ${i + 1}`);
    db.exec("COMMIT");
  }
  return db;
}
