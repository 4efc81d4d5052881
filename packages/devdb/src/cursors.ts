// Server-side cursors: results are materialised when the command runs and served in batches.
import { randomBytes } from "node:crypto";
import { BSON, Long } from "bson";
import { CommandError } from "./errors.ts";
import type { Doc } from "./values.ts";

const DEFAULT_FIRST_BATCH = 101;
/** Leaves room for the reply envelope within maxBsonObjectSize (16 MiB). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60_000;

interface OpenCursor {
  id: Long;
  ns: string;
  docs: Doc[];
  pos: number;
  lastUse: number;
}

function newCursorId(): Long {
  for (;;) {
    const id = randomBytes(8).readBigUInt64LE() >> 2n;
    if (id !== 0n) return Long.fromBigInt(id);
  }
}

function takeBatch(docs: Doc[], from: number, batchSize: number): Doc[] {
  const out: Doc[] = [];
  let bytes = 0;
  for (let i = from; i < docs.length && out.length < batchSize; i++) {
    const d = docs[i] as Doc;
    bytes += BSON.calculateObjectSize(d);
    if (bytes > MAX_BATCH_BYTES && out.length > 0) break;
    out.push(d);
  }
  return out;
}

export function positiveInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(typeof v === "object" ? String(v) : v);
  if (!Number.isFinite(n) || n < 0) throw new CommandError(2, `${name} must be a non-negative number`);
  return Math.floor(n);
}

export class Cursors {
  private readonly open = new Map<string, OpenCursor>();

  get count(): number {
    return this.open.size;
  }

  /** The `cursor` field of a find/aggregate/list reply; keeps a cursor open when docs remain. */
  first(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch = false): Doc {
    const batch = takeBatch(docs, 0, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = Long.ZERO;
    if (batch.length < docs.length && !singleBatch) {
      id = newCursorId();
      this.open.set(id.toString(), { id, ns, docs, pos: batch.length, lastUse: Date.now() });
    }
    return { firstBatch: batch, id, ns };
  }

  getMore(cursorId: unknown, collection: string, batchSize: number | undefined): Doc {
    const key = String(cursorId);
    const c = this.open.get(key);
    if (c === undefined) throw new CommandError(43, `cursor id ${key} not found`);
    if (c.ns.slice(c.ns.indexOf(".") + 1) !== collection && !c.ns.endsWith(".$cmd.aggregate")) {
      throw new CommandError(
        13,
        `Requested getMore on namespace '${collection}', but cursor belongs to a different namespace ${c.ns}`,
      );
    }
    const batch = takeBatch(c.docs, c.pos, batchSize || Number.MAX_SAFE_INTEGER);
    c.pos += batch.length;
    c.lastUse = Date.now();
    let id = c.id;
    if (c.pos >= c.docs.length) {
      this.open.delete(key);
      id = Long.ZERO;
    }
    return { cursor: { nextBatch: batch, id, ns: c.ns }, ok: 1 };
  }

  kill(ids: unknown[]): Doc {
    const killed: unknown[] = [];
    const notFound: unknown[] = [];
    for (const id of ids) (this.open.delete(String(id)) ? killed : notFound).push(id);
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  expire(now: number): void {
    for (const [k, c] of this.open) if (now - c.lastUse > IDLE_TIMEOUT_MS) this.open.delete(k);
  }
}
