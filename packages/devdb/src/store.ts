// Committed data: databases, collections, documents and indexes, with just enough version
// history for open transactions to read their snapshot.
import { UUID } from "bson";
import { CommandError } from "./errors.ts";
import { Index, normaliseIndexSpec, sameIndexOptions, sameKey } from "./indexes.ts";
import { type Doc, getOrCreate } from "./values.ts";

export interface HistoryEntry {
  ts: number;
  /** The committed document before the write at `ts` (undefined: it did not exist). */
  prev: Doc | undefined;
}

export interface Write {
  coll: Collection;
  id: string;
  doc: Doc | undefined;
}

/** Journal records; see persistence.ts. */
export type JournalRecord =
  | { op: "create"; ns: string; options: Doc }
  | { op: "drop"; ns: string }
  | { op: "index"; ns: string; spec: Doc }
  | { op: "dropIndex"; ns: string; name: string }
  | { op: "put"; ns: string; doc: Doc }
  | { op: "del"; ns: string; id: string };

export class Collection {
  readonly db: string;
  readonly name: string;
  readonly options: Doc;
  readonly uuid = new UUID();
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, Index>();
  readonly history = new Map<string, HistoryEntry[]>();
  dropped = false;

  constructor(db: string, name: string, options: Doc) {
    this.db = db;
    this.name = name;
    this.options = options;
    this.indexes.set("_id_", new Index({ v: 2, key: { _id: 1 }, name: "_id_" }));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  /**
   * Throws DuplicateKey if writing `doc` under `id` would break a unique index; returns the
   * document's keys for every index (in index order) for put().
   */
  check(id: string, doc: Doc): string[][] {
    const all: string[][] = [];
    for (const index of this.indexes.values()) {
      const keys = index.keys(doc);
      const hit = index.conflict(id, keys);
      if (hit !== undefined) throw index.duplicateKeyError(this.ns, doc, hit);
      all.push(keys);
    }
    return all;
  }

  /** Replaces the committed document without unique checks; callers run check() first. */
  put(id: string, doc: Doc | undefined, keys?: string[][]): void {
    const old = this.docs.get(id);
    let i = 0;
    for (const index of this.indexes.values()) {
      const oldKeys = old === undefined ? [] : index.keys(old);
      const newKeys = doc === undefined ? [] : (keys?.[i] ?? index.keys(doc));
      i++;
      if (sameKeys(oldKeys, newKeys)) continue;
      index.remove(id, oldKeys);
      index.add(id, newKeys);
    }
    if (doc === undefined) this.docs.delete(id);
    else this.docs.set(id, doc);
  }

  /** The committed document as of snapshot `ts`. */
  valueAt(id: string, ts: number): Doc | undefined {
    const h = this.history.get(id);
    if (h !== undefined) for (const e of h) if (e.ts > ts) return e.prev;
    return this.docs.get(id);
  }

  changedSince(id: string, ts: number): boolean {
    const h = this.history.get(id);
    return h?.some((e) => e.ts > ts) ?? false;
  }

  indexSpecs(): Doc[] {
    return [...this.indexes.values()].map((i) => i.spec);
  }

  /**
   * Adds an index. Returns null when an identical one exists; throws for conflicting options
   * or when existing documents violate uniqueness.
   */
  addIndex(raw: Doc): Index | null {
    const spec = normaliseIndexSpec(raw);
    const name = spec.name as string;
    const byName = this.indexes.get(name);
    if (byName !== undefined) {
      if (sameIndexOptions(byName.spec, spec)) return null;
      if (!sameKey(byName.spec, spec)) {
        throw new CommandError(
          86,
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
        );
      }
      throw new CommandError(
        85,
        `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
      );
    }
    for (const other of this.indexes.values()) {
      if (!sameKey(other.spec, spec)) continue;
      if (sameIndexOptions(other.spec, spec)) {
        throw new CommandError(85, `Index already exists with a different name: ${other.name}`);
      }
      throw new CommandError(
        85,
        `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(other.spec)}`,
      );
    }
    const index = new Index(spec);
    for (const [id, doc] of this.docs) {
      const keys = index.keys(doc);
      const hit = index.conflict(id, keys);
      if (hit !== undefined) {
        const e = index.duplicateKeyError(this.ns, doc, hit);
        throw new CommandError(
          11000,
          `Index build failed: ${this.uuid.toHexString()}: Collection ${this.ns} ( ${this.uuid.toHexString()} ) :: caused by :: ${e.message}`,
          e.extra,
        );
      }
      index.add(id, keys);
    }
    this.indexes.set(name, index);
    return index;
  }
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Store {
  readonly dbs = new Map<string, Map<string, Collection>>();
  /** Commit timestamp of the last write; snapshots are taken as this number. */
  ts = 0;
  /** Snapshot timestamps of open transactions (multiset as counts). */
  private readonly openSnapshots = new Map<number, number>();
  journal: ((records: JournalRecord[]) => void) | null = null;
  /** Queries answered by a collection scan (no index), per namespace and in total. */
  readonly collectionScans = new Map<string, number>();
  collectionScansTotal = 0;

  countCollectionScan(ns: string): void {
    this.collectionScansTotal++;
    this.collectionScans.set(ns, (this.collectionScans.get(ns) ?? 0) + 1);
  }

  collection(db: string, name: string): Collection | undefined {
    const c = this.dbs.get(db)?.get(name);
    return c;
  }

  /** The collection, created implicitly (as MongoDB does on first write) when missing. */
  ensureCollection(db: string, name: string, options: Doc = {}): Collection {
    const existing = this.collection(db, name);
    if (existing !== undefined) return existing;
    validateNames(db, name);
    const c = new Collection(db, name, options);
    getOrCreate(this.dbs, db, () => new Map()).set(name, c);
    this.journal?.([{ op: "create", ns: c.ns, options }]);
    return c;
  }

  dropCollection(c: Collection): void {
    const colls = this.dbs.get(c.db);
    colls?.delete(c.name);
    if (colls?.size === 0) this.dbs.delete(c.db);
    c.dropped = true;
    this.journal?.([{ op: "drop", ns: c.ns }]);
  }

  createIndex(c: Collection, raw: Doc): boolean {
    const created = c.addIndex(raw);
    if (created !== null) this.journal?.([{ op: "index", ns: c.ns, spec: created.spec }]);
    return created !== null;
  }

  dropIndex(c: Collection, name: string): void {
    c.indexes.delete(name);
    this.journal?.([{ op: "dropIndex", ns: c.ns, name }]);
  }

  /**
   * Applies writes atomically: every write is checked against unique indexes as it is applied
   * and on the first failure all earlier ones are undone before the error propagates.
   */
  apply(writes: Write[]): void {
    if (writes.length === 0) return;
    const ts = this.ts + 1;
    const keepHistory = this.openSnapshots.size > 0;
    const undo: { coll: Collection; id: string; prev: Doc | undefined }[] = [];
    try {
      for (const w of writes) {
        const keys = w.doc === undefined ? undefined : w.coll.check(w.id, w.doc);
        const prev = w.coll.docs.get(w.id);
        w.coll.put(w.id, w.doc, keys);
        undo.push({ coll: w.coll, id: w.id, prev });
      }
    } catch (e) {
      for (let i = undo.length - 1; i >= 0; i--) {
        const u = undo[i] as (typeof undo)[number];
        u.coll.put(u.id, u.prev);
      }
      throw e;
    }
    this.ts = ts;
    if (keepHistory) {
      for (const u of undo) getOrCreate(u.coll.history, u.id, () => []).push({ ts, prev: u.prev });
    }
    this.journal?.(
      undo.map(({ coll, id }): JournalRecord => {
        const doc = coll.docs.get(id);
        return doc === undefined ? { op: "del", ns: coll.ns, id } : { op: "put", ns: coll.ns, doc };
      }),
    );
  }

  openSnapshot(): number {
    this.openSnapshots.set(this.ts, (this.openSnapshots.get(this.ts) ?? 0) + 1);
    return this.ts;
  }

  closeSnapshot(ts: number): void {
    const n = (this.openSnapshots.get(ts) ?? 1) - 1;
    if (n > 0) this.openSnapshots.set(ts, n);
    else this.openSnapshots.delete(ts);
    this.pruneHistory();
  }

  private pruneHistory(): void {
    const min = this.openSnapshots.size === 0 ? Infinity : Math.min(...this.openSnapshots.keys());
    for (const colls of this.dbs.values()) {
      for (const c of colls.values()) {
        if (c.history.size === 0) continue;
        if (min === Infinity) {
          c.history.clear();
          continue;
        }
        for (const [id, h] of c.history) {
          const kept = h.filter((e) => e.ts > min);
          if (kept.length === 0) c.history.delete(id);
          else if (kept.length !== h.length) c.history.set(id, kept);
        }
      }
    }
  }
}

function validateNames(db: string, name: string): void {
  if (db.length === 0 || /[/\\. "$]/.test(db)) throw new CommandError(73, `Invalid database name: '${db}'`);
  if (name.length === 0 || name.includes("$") || name.startsWith(".")) {
    throw new CommandError(73, `Invalid collection name: ${name}`);
  }
}
