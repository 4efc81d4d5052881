// CRUD: insert, update, delete, findAndModify, find, getMore, count, distinct, killCursors.
import { positiveInt } from "../cursors.ts";
import { CommandError, toCommandError, writeConflict } from "../errors.ts";
import type { Plan } from "../planner.ts";
import {
  applyUpdate,
  isOperatorUpdate,
  type Match,
  matchDocs,
  project,
  shape,
  type UpdateSpec,
  upsertDocument,
  withId,
} from "../query.ts";
import type { Collection, Write } from "../store.ts";
import { LockedError, TRANSACTION_LIFETIME_MS } from "../transactions.ts";
import { type Doc, isPlainObject, keyOf, pathValues } from "../values.ts";
import { type Ctx, collName, ensure, existing, type Handler } from "./context.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs a write, waiting (as MongoDB does) while a transaction holds a document it touches.
 * A step-down while it waits interrupts it (InterruptedDueToReplStateChange).
 */
async function withLockWait<T>(x: Ctx, fn: () => T): Promise<T> {
  const deadline = Date.now() + TRANSACTION_LIFETIME_MS + 5_000;
  const epoch = x.state.repl.epoch;
  for (;;) {
    if (x.state.repl.epoch !== epoch) throw x.state.repl.interrupted(x.cmd.txnNumber !== undefined && x.op.txn === null);
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof LockedError)) throw e;
      const left = deadline - Date.now();
      if (left <= 0) throw writeConflict();
      await Promise.race([e.holder.done, sleep(Math.min(left, 1000))]);
    }
  }
}

/** Replication state changes end the whole command, not one statement (as in MongoDB). */
function isStateChange(e: CommandError): boolean {
  return e.code === 10107 || e.code === 11602;
}

function writeErrorEntry(index: number, e: CommandError): Doc {
  return { index, code: e.code, codeName: e.codeName, errmsg: e.message, ...e.extra };
}

/** Errors that abort the whole command (in a transaction) rather than one statement. */
function isTransient(e: CommandError): boolean {
  return e.labels.length > 0;
}

function duplicateId(c: Collection, doc: Doc): CommandError {
  const index = c.indexes.get("_id_");
  if (index === undefined) throw new Error("missing _id index");
  return index.duplicateKeyError(c.ns, doc, keyOf(doc._id));
}

function checkDocument(doc: unknown): asserts doc is Doc {
  if (!isPlainObject(doc)) throw new CommandError(14, "document must be an object");
  if (Array.isArray(doc._id)) throw new CommandError(2, "can't use an array for _id");
  for (const k of Object.keys(doc)) {
    if (k.startsWith("$")) throw new CommandError(52, `Document can't have $ prefixed field names: ${k}`);
  }
}

function insertOne(x: Ctx, c: Collection, raw: unknown): Doc {
  checkDocument(raw);
  const doc = withId(raw);
  const id = keyOf(doc._id);
  if (x.op.get(c, id) !== undefined) throw duplicateId(c, doc);
  x.op.write([{ coll: c, id, doc }]);
  return doc;
}

/** Inserts the document an upsert builds; the collection is created only now, as MongoDB does. */
function upsertInsert(x: Ctx, filter: Doc, spec: UpdateSpec): Doc {
  return insertOne(x, ensure(x), upsertDocument(filter, spec));
}

interface UpdateOutcome {
  n: number;
  nModified: number;
  upserted?: unknown;
}

function updateStatement(x: Ctx, c: Collection | undefined, s: Doc): UpdateOutcome {
  const filter = (s.q ?? {}) as Doc;
  const spec = { u: s.u, arrayFilters: s.arrayFilters as Doc[] | undefined, filter };
  if (s.multi === true && !isOperatorUpdate(s.u) && !Array.isArray(s.u)) {
    throw new CommandError(9, "multi update is not supported for replacement-style update");
  }
  const matches = matchDocs(x.op, c, filter, { limit: s.multi === true ? 0 : 1, collation: s.collation });
  if (matches.length === 0) {
    if (s.upsert !== true) return { n: 0, nModified: 0 };
    return { n: 1, nModified: 0, upserted: upsertInsert(x, filter, spec)._id };
  }
  const writes: Write[] = [];
  for (const m of matches) {
    const { doc, changed } = applyUpdate(m.doc, spec, false);
    if (changed) writes.push({ coll: c as Collection, id: m.id, doc });
  }
  x.op.write(writes);
  return { n: matches.length, nModified: writes.length };
}

function sortedMatches(x: Ctx, c: Collection | undefined, filter: Doc, sort: unknown, limit: number): Match[] {
  const collation = x.cmd.collation;
  if (!isPlainObject(sort) || Object.keys(sort).length === 0) return matchDocs(x.op, c, filter, { limit, collation });
  const all = matchDocs(x.op, c, filter, { collation });
  const ids = new Map<Doc, string>(all.map((m) => [m.doc, m.id]));
  return shape(
    all.map((m) => m.doc),
    { sort, limit, collation },
  ).map((doc) => ({ doc, id: ids.get(doc) as string }));
}

async function runWrites(x: Ctx, statements: unknown[], each: (s: Doc, i: number) => UpdateOutcome | number): Promise<Doc> {
  const ordered = x.cmd.ordered !== false;
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const writeErrors: Doc[] = [];
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    try {
      if (!isPlainObject(s)) throw new CommandError(14, "write statement must be an object");
      const r = await withLockWait(x, () => each(s, i));
      if (typeof r === "number") n += r;
      else {
        n += r.n;
        nModified += r.nModified;
        if (r.upserted !== undefined) upserted.push({ index: i, _id: r.upserted });
      }
    } catch (e) {
      const ce = toCommandError(e);
      if ((x.op.txn !== null && isTransient(ce)) || isStateChange(ce)) throw ce;
      writeErrors.push(writeErrorEntry(i, ce));
      if (ordered || x.op.txn !== null) break;
    }
  }
  const reply: Doc = { n };
  if (x.cmd.update !== undefined) reply.nModified = nModified;
  if (upserted.length > 0) reply.upserted = upserted;
  if (writeErrors.length > 0) reply.writeErrors = writeErrors;
  reply.ok = 1;
  return reply;
}

/** The documents a find returns (before batching), and the plan that found them. */
export function findDocs(
  x: Ctx,
  c: Collection | undefined,
  cmd: Doc,
  skip: number,
  limit: number,
): { docs: Doc[]; plan: Plan | null } {
  const hasSort = isPlainObject(cmd.sort) && Object.keys(cmd.sort).length > 0;
  let plan: Plan | null = null;
  const matches = matchDocs(x.op, c, cmd.filter, {
    limit: limit > 0 ? skip + limit : 0,
    collation: cmd.collation,
    sort: hasSort ? (cmd.sort as Doc) : undefined,
    onPlan: (p) => (plan = p),
  });
  const sorted = (plan as Plan | null)?.sorted === true;
  const docs = shape(
    matches.map((m) => m.doc),
    { sort: sorted ? undefined : (cmd.sort as Doc), projection: cmd.projection as Doc, skip, limit, collation: cmd.collation },
  );
  return { docs, plan };
}

export function visibleDocs(x: Ctx, c: Collection | undefined, filter?: Doc): Doc[] {
  return matchDocs(x.op, c, filter, { collation: x.cmd.collation }).map((m) => m.doc);
}

export const crudHandlers: Record<string, Handler> = {
  insert: async (x) => {
    const c = ensure(x);
    const docs = (x.cmd.documents as unknown[]) ?? [];
    return runWrites(x, docs, (doc) => {
      insertOne(x, c, doc);
      return 1;
    });
  },
  update: async (x) => runWrites(x, (x.cmd.updates as unknown[]) ?? [], (s) => updateStatement(x, existing(x), s)),
  delete: async (x) => {
    const c = existing(x);
    return runWrites(x, (x.cmd.deletes as unknown[]) ?? [], (s) => {
      const limit = Number(s.limit ?? 0);
      if (limit !== 0 && limit !== 1) throw new CommandError(9, "The limit field in delete objects must be 0 or 1");
      const matches = matchDocs(x.op, c, s.q, { limit, collation: s.collation });
      if (c !== undefined) x.op.write(matches.map((m) => ({ coll: c, id: m.id, doc: undefined })));
      return matches.length;
    });
  },
  findAndModify: async (x) => {
    const c = existing(x);
    const cmd = x.cmd;
    const filter = (cmd.query ?? {}) as Doc;
    return withLockWait(x, () => {
      const [m] = sortedMatches(x, c, filter, cmd.sort, 1);
      if (cmd.remove === true) {
        if (m === undefined || c === undefined) return { lastErrorObject: { n: 0 }, value: null, ok: 1 };
        x.op.write([{ coll: c, id: m.id, doc: undefined }]);
        return { lastErrorObject: { n: 1 }, value: project(m.doc, cmd.fields), ok: 1 };
      }
      if (cmd.update === undefined) throw new CommandError(9, "Either an update or remove=true must be specified");
      const spec = { u: cmd.update, arrayFilters: cmd.arrayFilters as Doc[] | undefined, filter };
      if (m === undefined || c === undefined) {
        if (cmd.upsert !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
        const doc = upsertInsert(x, filter, spec);
        return {
          lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
          value: cmd.new === true ? project(doc, cmd.fields) : null,
          ok: 1,
        };
      }
      const { doc, changed } = applyUpdate(m.doc, spec, false);
      if (changed) x.op.write([{ coll: c, id: m.id, doc }]);
      return {
        lastErrorObject: { n: 1, updatedExisting: true },
        value: project(cmd.new === true ? doc : m.doc, cmd.fields),
        ok: 1,
      };
    });
  },
  find: (x) => {
    const c = existing(x);
    const cmd = x.cmd;
    const skip = positiveInt(cmd.skip, "skip") ?? 0;
    let limit = Number(cmd.limit ?? 0);
    let singleBatch = cmd.singleBatch === true;
    if (limit < 0) {
      limit = -limit;
      singleBatch = true;
    }
    const docs = findDocs(x, c, cmd, skip, limit).docs;
    const batchSize = positiveInt(cmd.batchSize, "batchSize");
    return {
      cursor: x.state.cursors.first(
        `${x.db}.${collName(x)}`,
        docs,
        limit > 0 ? Math.min(batchSize ?? limit, limit) : batchSize,
        singleBatch,
      ),
      ok: 1,
    };
  },
  getMore: (x) => {
    const collection = String(x.cmd.collection ?? "");
    return x.state.cursors.getMore(x.cmd.getMore, collection, positiveInt(x.cmd.batchSize, "batchSize"));
  },
  count: (x) => {
    const c = existing(x);
    const skip = positiveInt(x.cmd.skip, "skip") ?? 0;
    const limit = Math.abs(Number(x.cmd.limit ?? 0));
    let n = Math.max(0, matchDocs(x.op, c, x.cmd.query, { collation: x.cmd.collation }).length - skip);
    if (limit > 0) n = Math.min(n, limit);
    return { n, ok: 1 };
  },
  distinct: (x) => {
    const key = x.cmd.key;
    if (typeof key !== "string") throw new CommandError(14, "key must be a string");
    const seen = new Map<string, unknown>();
    for (const doc of visibleDocs(x, existing(x), x.cmd.query as Doc)) {
      for (const v of pathValues(doc, key)) {
        if (v === undefined) continue;
        const k = keyOf(v);
        if (!seen.has(k)) seen.set(k, v);
      }
    }
    return { values: [...seen.values()], ok: 1 };
  },
  killCursors: (x) => x.state.cursors.kill((x.cmd.cursors as unknown[]) ?? []),
};
