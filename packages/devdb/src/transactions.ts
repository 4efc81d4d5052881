// Logical sessions, multi-document transactions (snapshot reads, staged writes, write
// conflicts) and the read/write paths every command goes through.
import { CommandError, transientLabel, writeConflict } from "./errors.ts";
import type { Collection, Store, Write } from "./store.ts";
import { type Doc, getOrCreate } from "./values.ts";

export const TRANSACTION_LIFETIME_MS = 60_000;

export interface Session {
  readonly id: string;
  lastUse: number;
  /** Highest txnNumber seen (transactions and retryable writes share the counter). */
  txnNumber: number;
  txn: Txn | null;
  /** Outcome of the retryable write numbered `txnNumber`, returned again on retry. */
  retryReply: Promise<Doc> | null;
}

export class Txn {
  readonly session: Session;
  readonly number: number;
  readonly snapshot: number;
  readonly startedAt = Date.now();
  state: "active" | "committed" | "aborted" = "active";
  readonly writes = new Map<Collection, Map<string, Doc | undefined>>();
  /** Unique-index keys held by staged documents: collection → index name → key → ids. */
  readonly stagedKeys = new Map<Collection, Map<string, Map<string, Set<string>>>>();
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(session: Session, number: number, snapshot: number) {
    this.session = session;
    this.number = number;
    this.snapshot = snapshot;
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  staged(c: Collection): Map<string, Doc | undefined> | undefined {
    return this.writes.get(c);
  }

  markDone(state: "committed" | "aborted"): void {
    this.state = state;
    this.finish();
  }
}

/** Thrown by a write outside a transaction that touches a document an open transaction holds. */
export class LockedError extends Error {
  readonly holder: Txn;
  constructor(holder: Txn) {
    super("document locked by a transaction");
    this.holder = holder;
  }
}

/** What one command sees and how its writes land: committed data, or a transaction's view. */
export class OpContext {
  readonly store: Store;
  readonly txn: Txn | null;
  private readonly sessions: Sessions;

  constructor(store: Store, sessions: Sessions, txn: Txn | null) {
    this.store = store;
    this.sessions = sessions;
    this.txn = txn;
  }

  get(c: Collection, id: string): Doc | undefined {
    if (this.txn === null) return c.docs.get(id);
    const staged = this.txn.staged(c);
    if (staged?.has(id)) return staged.get(id);
    return c.valueAt(id, this.txn.snapshot);
  }

  /** Ids of all documents possibly visible; `subset` narrows the committed ones (index lookup). */
  *ids(c: Collection, subset?: Iterable<string>): Iterable<string> {
    if (this.txn === null) {
      yield* subset ?? c.docs.keys();
      return;
    }
    // Documents deleted since the snapshot live only in history, inserts of this txn only in staged.
    const staged = this.txn.staged(c)?.keys() ?? [];
    if (subset !== undefined) {
      yield* new Set([...subset, ...c.history.keys(), ...staged]);
      return;
    }
    yield* c.docs.keys();
    for (const id of c.history.keys()) if (!c.docs.has(id)) yield id;
    for (const id of staged) if (!c.docs.has(id) && !c.history.has(id)) yield id;
  }

  *scan(c: Collection, subset?: Iterable<string>): Iterable<[string, Doc]> {
    if (this.txn === null && subset === undefined) {
      yield* c.docs;
      return;
    }
    for (const id of this.ids(c, subset)) {
      const doc = this.get(c, id);
      if (doc !== undefined) yield [id, doc];
    }
  }

  write(writes: Write[]): void {
    if (writes.length === 0) return;
    if (this.txn !== null) {
      for (const w of writes) this.sessions.stage(this.txn, w);
      return;
    }
    for (const w of writes) {
      const holder = this.sessions.locks.get(lockKey(w.coll, w.id));
      if (holder !== undefined && holder.state === "active") throw new LockedError(holder);
    }
    this.store.apply(writes);
  }
}

export function lockKey(c: Collection, id: string): string {
  return `${c.ns}\u0000${id}`;
}

function noSuchTransaction(txnNumber: number): CommandError {
  return new CommandError(251, `Transaction with { txnNumber: ${txnNumber} } has been aborted.`, {}, [transientLabel]);
}

export class Sessions {
  readonly store: Store;
  readonly sessions = new Map<string, Session>();
  readonly locks = new Map<string, Txn>();

  constructor(store: Store) {
    this.store = store;
  }

  session(id: string): Session {
    const s = getOrCreate(this.sessions, id, () => ({ id, lastUse: Date.now(), txnNumber: -1, txn: null, retryReply: null }));
    s.lastUse = Date.now();
    return s;
  }

  /** The transaction a command with `autocommit: false` runs in, starting it if asked. */
  transactionFor(s: Session, txnNumber: number, start: boolean, commandName: string): Txn {
    if (txnNumber < s.txnNumber) {
      throw new CommandError(
        225,
        `Cannot start transaction ${txnNumber} on session ${s.id} because a newer transaction ${s.txnNumber} has already started`,
      );
    }
    if (start) {
      if (txnNumber === s.txnNumber && s.txn !== null) {
        throw new CommandError(
          251,
          `Given transaction number ${txnNumber} does not match any in-progress transactions. The active transaction number is ${s.txnNumber}`,
          {},
          [transientLabel],
        );
      }
      if (s.txn?.state === "active") this.abort(s.txn);
      s.txnNumber = txnNumber;
      s.retryReply = null;
      s.txn = new Txn(s, txnNumber, this.store.openSnapshot());
      return s.txn;
    }
    const t = s.txn;
    if (t === null || t.number !== txnNumber) {
      throw new CommandError(251, `Given transaction number ${txnNumber} does not match any in-progress transactions.`, {}, [
        transientLabel,
      ]);
    }
    if (t.state === "aborted") throw noSuchTransaction(txnNumber);
    if (t.state === "committed" && commandName !== "commitTransaction" && commandName !== "abortTransaction") {
      throw new CommandError(256, `Transaction with { txnNumber: ${txnNumber} } has been committed.`);
    }
    return t;
  }

  stage(txn: Txn, w: Write): void {
    const key = lockKey(w.coll, w.id);
    const holder = this.locks.get(key);
    if ((holder !== undefined && holder !== txn && holder.state === "active") || w.coll.changedSince(w.id, txn.snapshot)) {
      throw writeConflict();
    }
    const staged = getOrCreate(txn.writes, w.coll, () => new Map());
    const keyMaps = getOrCreate(txn.stagedKeys, w.coll, () => new Map());
    // Keys of this txn's earlier version of the document are released below.
    const previous = staged.get(w.id);
    for (const index of w.coll.indexes.values()) {
      if (!index.unique) continue;
      const keyMap = getOrCreate(keyMaps, index.name, () => new Map());
      const newKeys = w.doc === undefined ? [] : index.keys(w.doc);
      for (const k of newKeys) {
        const stagedOwners = keyMap.get(k);
        if (stagedOwners !== undefined && [...stagedOwners].some((o) => o !== w.id))
          throw index.duplicateKeyError(w.coll.ns, w.doc as Doc, k);
        for (const other of index.lookup(k)) {
          if (other === w.id || staged.has(other)) continue;
          if (w.coll.changedSince(other, txn.snapshot)) throw writeConflict();
          throw index.duplicateKeyError(w.coll.ns, w.doc as Doc, k);
        }
      }
      if (previous !== undefined) for (const k of index.keys(previous)) keyMap.get(k)?.delete(w.id);
      for (const k of newKeys) getOrCreate(keyMap, k, () => new Set()).add(w.id);
    }
    staged.set(w.id, w.doc);
    this.locks.set(key, txn);
  }

  commit(txn: Txn): void {
    if (txn.state === "committed") return;
    if (txn.state === "aborted") throw noSuchTransaction(txn.number);
    const writes: Write[] = [];
    for (const [coll, staged] of txn.writes) {
      if (coll.dropped) continue;
      for (const [id, doc] of staged) writes.push({ coll, id, doc });
    }
    try {
      this.store.apply(writes);
    } catch (e) {
      this.abort(txn);
      if (e instanceof CommandError && e.code === 11000) throw writeConflict();
      throw e;
    }
    this.release(txn, "committed");
  }

  abort(txn: Txn): void {
    if (txn.state !== "active") return;
    this.release(txn, "aborted");
  }

  private release(txn: Txn, state: "committed" | "aborted"): void {
    for (const [coll, staged] of txn.writes) {
      for (const id of staged.keys()) {
        const key = lockKey(coll, id);
        if (this.locks.get(key) === txn) this.locks.delete(key);
      }
    }
    txn.writes.clear();
    txn.stagedKeys.clear();
    this.store.closeSnapshot(txn.snapshot);
    txn.markDone(state);
  }

  end(id: string): void {
    const s = this.sessions.get(id);
    if (s === undefined) return;
    if (s.txn !== null) this.abort(s.txn);
    this.sessions.delete(id);
  }

  /** Aborts transactions past their lifetime and forgets idle sessions. */
  expire(now: number, sessionTimeoutMs: number): void {
    for (const s of this.sessions.values()) {
      if (s.txn?.state === "active" && now - s.txn.startedAt > TRANSACTION_LIFETIME_MS) this.abort(s.txn);
      if (now - s.lastUse > sessionTimeoutMs) this.end(s.id);
    }
  }

  abortAll(): void {
    for (const s of this.sessions.values()) if (s.txn !== null) this.abort(s.txn);
  }
}
