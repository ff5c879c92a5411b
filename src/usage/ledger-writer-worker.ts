/**
 * The usage ledger's writer thread: receives records from the main thread,
 * inserts them into the embedded database in batched transactions, and
 * deletes journal segments once everything they hold is committed. It keeps
 * SQLite's write and checkpoint costs off the thread that serves requests.
 */
import { rmSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../store/database.ts";
import { createSqliteUsageLedger } from "./sqlite-usage-ledger.ts";
import { recordFromRow, type UsageRow } from "./usage-record.ts";

/** Messages from the main thread. */
export type WriterMessage =
  | { type: "record"; row: UsageRow }
  | { type: "segment-closed"; path: string }
  | { type: "flush"; id: number };

const port = parentPort;
if (!port) throw new Error("ledger-writer-worker runs only as a worker thread");
const db = openDatabase((workerData as { dbPath: string }).dbPath);
const ledger = createSqliteUsageLedger(db);
let pending: UsageRow[] = [];
let scheduled = false;

function commit(): void {
  if (pending.length === 0) return;
  const batch = pending;
  pending = [];
  db.exec("BEGIN");
  try {
    for (const row of batch) ledger.appendSync(recordFromRow(row));
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}

port.on("message", (m: WriterMessage) => {
  switch (m.type) {
    case "record":
      pending.push(m.row);
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          commit();
        });
      }
      return;
    case "segment-closed":
      commit();
      rmSync(m.path, { force: true });
      return;
    case "flush":
      commit();
      port.postMessage({ type: "flushed", id: m.id });
      return;
  }
});
