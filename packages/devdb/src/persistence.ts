// Durability for a data directory: an append-only journal of BSON records, fsync'd before each
// reply, folded into a snapshot file at startup, on clean stop and when the journal grows large.
import fs from "node:fs";
import path from "node:path";
import { BSON } from "bson";
import type { JournalRecord, Store } from "./store.ts";
import { type Doc, keyOf } from "./values.ts";

const SNAPSHOT = "snapshot.bson";
const JOURNAL = "journal.bson";
const COMPACT_AT_BYTES = 64 * 1024 * 1024;

function* readRecords(file: string): Generator<Doc> {
  if (!fs.existsSync(file)) return;
  const buf = fs.readFileSync(file);
  let at = 0;
  while (at + 4 <= buf.length) {
    const size = buf.readInt32LE(at);
    // A torn record at the tail is a write that was never acknowledged.
    if (size < 5 || at + size > buf.length) return;
    let rec: Doc;
    try {
      rec = BSON.deserialize(buf.subarray(at, at + size)) as Doc;
    } catch {
      return;
    }
    yield rec;
    at += size;
  }
}

function splitNs(ns: string): [string, string] {
  const dot = ns.indexOf(".");
  return [ns.slice(0, dot), ns.slice(dot + 1)];
}

function replay(store: Store, rec: Doc): void {
  const r = rec as unknown as JournalRecord;
  const [db, name] = splitNs(r.ns);
  if (r.op === "create") {
    store.ensureCollection(db, name, r.options);
    return;
  }
  const c =
    r.op === "drop" || r.op === "dropIndex" || r.op === "del" ? store.collection(db, name) : store.ensureCollection(db, name);
  if (c === undefined) return;
  switch (r.op) {
    case "drop":
      store.dropCollection(c);
      break;
    case "index":
      c.addIndex(r.spec);
      break;
    case "dropIndex":
      c.indexes.delete(r.name);
      break;
    case "put":
      c.put(keyOf(r.doc._id), r.doc);
      break;
    case "del":
      c.put(r.id, undefined);
      break;
  }
}

export class Persistence {
  private readonly dir: string;
  private readonly store: Store;
  private pending: Uint8Array[] = [];
  private fd: number;
  private journalBytes = 0;

  constructor(dir: string, store: Store) {
    this.dir = dir;
    this.store = store;
    // The caller holds the directory's lock (lock.ts).
    fs.mkdirSync(dir, { recursive: true });
    for (const rec of readRecords(path.join(dir, SNAPSHOT))) replay(store, rec);
    for (const rec of readRecords(path.join(dir, JOURNAL))) replay(store, rec);
    this.writeSnapshot();
    this.fd = fs.openSync(path.join(dir, JOURNAL), "w");
    fs.fsyncSync(this.fd);
    store.journal = (records) => {
      for (const r of records) this.pending.push(BSON.serialize(r));
    };
  }

  /** Makes everything recorded so far durable. */
  flush(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    fs.writeSync(this.fd, data);
    fs.fsyncSync(this.fd);
    this.journalBytes += data.length;
    if (this.journalBytes > COMPACT_AT_BYTES) this.compact();
  }

  close(): void {
    this.flush();
    this.compact();
    fs.closeSync(this.fd);
    this.store.journal = null;
  }

  private compact(): void {
    this.writeSnapshot();
    fs.ftruncateSync(this.fd, 0);
    fs.fsyncSync(this.fd);
    this.journalBytes = 0;
  }

  private writeSnapshot(): void {
    const tmp = path.join(this.dir, SNAPSHOT + ".tmp");
    const fd = fs.openSync(tmp, "w");
    let chunk: Uint8Array[] = [];
    let bytes = 0;
    const write = (r: JournalRecord): void => {
      const b = BSON.serialize(r);
      chunk.push(b);
      bytes += b.length;
      if (bytes > 4 * 1024 * 1024) {
        fs.writeSync(fd, Buffer.concat(chunk));
        chunk = [];
        bytes = 0;
      }
    };
    for (const colls of this.store.dbs.values()) {
      for (const c of colls.values()) {
        write({ op: "create", ns: c.ns, options: c.options });
        for (const index of c.indexes.values()) if (index.name !== "_id_") write({ op: "index", ns: c.ns, spec: index.spec });
        for (const doc of c.docs.values()) write({ op: "put", ns: c.ns, doc });
      }
    }
    if (chunk.length > 0) fs.writeSync(fd, Buffer.concat(chunk));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(this.dir, SNAPSHOT));
    const dirFd = fs.openSync(this.dir, "r");
    fs.fsyncSync(dirFd);
    fs.closeSync(dirFd);
  }
}
