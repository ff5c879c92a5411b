/**
 * The usage ledger's writer thread. It tails the journal segments that the
 * main thread appends to, inserts complete lines into the embedded database
 * in batched transactions, and deletes a segment once it is closed and fully
 * committed. The thread that serves requests pays only for its journal
 * write; SQLite's insert and checkpoint costs are paid here.
 */
import { closeSync, fstatSync, openSync, readSync, rmSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../store/database.ts";
import { createSqliteUsageLedger } from "./sqlite-usage-ledger.ts";
import { recordFromRow, type UsageRow } from "./usage-record.ts";

/** Messages from the main thread. */
export type WriterMessage =
  | { type: "segment-opened"; path: string }
  | { type: "segment-closed"; path: string; size: number }
  | { type: "flush"; id: number };

/** How often the open segment is read for new lines. */
const POLL_MS = 50;

interface Segment {
  readonly path: string;
  readonly fd: number;
  /** Bytes consumed (committed) so far. */
  offset: number;
}

const port = parentPort;
if (!port) throw new Error("ledger-writer-worker runs only as a worker thread");
const db = openDatabase((workerData as { dbPath: string }).dbPath);
const ledger = createSqliteUsageLedger(db);
const segments: Segment[] = [];

/** Commits the complete lines of a segment from its offset up to `limit` bytes (or its end). */
function drain(seg: Segment, limit?: number): void {
  const end = limit ?? fstatSync(seg.fd).size;
  if (end <= seg.offset) return;
  const buf = Buffer.alloc(end - seg.offset);
  const read = readSync(seg.fd, buf, 0, buf.length, seg.offset);
  const text = buf.subarray(0, read).toString("utf8");
  const last = text.lastIndexOf("\n");
  if (last < 0) return;
  db.exec("BEGIN");
  try {
    for (const line of text.slice(0, last).split("\n")) {
      if (line !== "") ledger.appendSync(recordFromRow(JSON.parse(line) as UsageRow));
    }
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
  seg.offset += Buffer.byteLength(text.slice(0, last + 1));
}

setInterval(() => {
  for (const seg of segments) drain(seg);
}, POLL_MS);

port.on("message", (m: WriterMessage) => {
  switch (m.type) {
    case "segment-opened":
      segments.push({ path: m.path, fd: openSync(m.path, "r"), offset: 0 });
      return;
    case "segment-closed": {
      const i = segments.findIndex((s) => s.path === m.path);
      const seg = segments[i];
      if (!seg) return;
      drain(seg, m.size);
      closeSync(seg.fd);
      segments.splice(i, 1);
      rmSync(seg.path, { force: true });
      return;
    }
    case "flush":
      for (const seg of segments) drain(seg);
      port.postMessage({ type: "flushed", id: m.id });
      return;
  }
});
