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
