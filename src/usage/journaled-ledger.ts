import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import type { Logger } from "../log/logger.ts";
import type { WriterMessage } from "./ledger-writer-worker.ts";
import { createSqliteUsageLedger } from "./sqlite-usage-ledger.ts";
import type { UsageLedger } from "./usage-ledger.ts";
import { recordFromRow, usageRow, type UsageRow } from "./usage-record.ts";

/** Records per journal segment before the next one is started. */
const SEGMENT_RECORDS = 10_000;
/** Age of a journal segment after which the next append starts a new one. */
const SEGMENT_MS = 5_000;

/** A ledger that must be closed to finish its writes. */
export interface ClosableLedger extends UsageLedger {
  /** Commits everything pending and stops the writer thread. */
  close(): Promise<void>;
}

/**
 * Replays journal segments left by a process that stopped before its writer
 * committed them (INSERT OR IGNORE by record id, so replaying twice is
 * harmless), then deletes them. Returns how many lines it replayed.
 */
function replay(dir: string, db: DatabaseSync): number {
  const ledger = createSqliteUsageLedger(db);
  let count = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort()) {
    const path = join(dir, file);
    db.exec("BEGIN");
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (line === "") continue;
      try {
        ledger.appendSync(recordFromRow(JSON.parse(line) as UsageRow));
        count++;
      } catch {
        // A line cut short by a kill mid-write: its response never completed.
      }
    }
    db.exec("COMMIT");
    rmSync(path);
  }
  return count;
}

/**
 * Opens the usage ledger of a file database. An append writes one JSON line
 * to a journal file with a single synchronous write (a few microseconds, and
 * on disk as far as a process kill is concerned); a writer thread tails the
 * journal and inserts its lines into SQLite in batches. Segments are deleted
 * once committed and replayed at start if they were not. Reads first wait
 * for the writer, so they see every append that resolved before them.
 */
export function openJournaledLedger(deps: { dbPath: string; db: DatabaseSync; logger: Logger }): ClosableLedger {
  const dir = `${deps.dbPath}.usage-journal`;
  mkdirSync(dir, { recursive: true });
  const replayed = replay(dir, deps.db);
  if (replayed > 0) deps.logger.info("usage journal replayed", { records: replayed });

  const reads = createSqliteUsageLedger(deps.db);
  const worker = new Worker(new URL("./ledger-writer-worker.ts", import.meta.url), { workerData: { dbPath: deps.dbPath } });
  let alive = true;
  let nextFlush = 0;
  const flushes = new Map<number, () => void>();
  worker.on("message", (m: { type: "flushed"; id: number }) => {
    flushes.get(m.id)?.();
    flushes.delete(m.id);
  });
  worker.on("error", (err) => deps.logger.error("usage ledger writer failed; records stay in the journal until the next start", { error: err.message }));
  worker.on("exit", () => {
    alive = false;
    for (const resolve of flushes.values()) resolve();
    flushes.clear();
  });
  const send = (m: WriterMessage) => {
    if (alive) worker.postMessage(m);
  };

  let seq = 0;
  let segment = "";
  let fd = -1;
  let written = 0;
  let bytes = 0;
  let opened = 0;
  const rotate = () => {
    if (fd >= 0) {
      closeSync(fd);
      send({ type: "segment-closed", path: segment, size: bytes });
    }
    segment = join(dir, `${Date.now().toString().padStart(15, "0")}-${String(seq++).padStart(6, "0")}.jsonl`);
    fd = openSync(segment, "a");
    send({ type: "segment-opened", path: segment });
    written = 0;
    bytes = 0;
    opened = Date.now();
  };
  rotate();

  const flush = () =>
    new Promise<void>((resolve) => {
      if (!alive) return resolve();
      const id = nextFlush++;
      flushes.set(id, resolve);
      send({ type: "flush", id });
    });

  return {
    async append(record) {
      const line = `${JSON.stringify(usageRow(record))}\n`;
      writeSync(fd, line);
      bytes += Buffer.byteLength(line);
      if (++written >= SEGMENT_RECORDS || Date.now() - opened > SEGMENT_MS) rotate();
    },
    async list(filter, limit, after) {
      await flush();
      return reads.list(filter, limit, after);
    },
    async aggregate(filter, groupBy) {
      await flush();
      return reads.aggregate(filter, groupBy);
    },
    async spentSince(keyId, since) {
      await flush();
      return reads.spentSince(keyId, since);
    },
    async close() {
      closeSync(fd);
      fd = -1;
      send({ type: "segment-closed", path: segment, size: bytes });
      await flush();
      await worker.terminate();
    },
  };
}
