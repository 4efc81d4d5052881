// Command dispatch: sessions, transactions and retryable writes around one handler per command.
import os from "node:os";
import { BSON, Long, Timestamp } from "bson";
import { Aggregator, ProcessingMode, Query } from "mingo";
import { Cursors, positiveInt } from "./cursors.ts";
import { CommandError, errorReply, toCommandError, writeConflict } from "./errors.ts";
import { collationStrength, normaliseIndexSpec } from "./indexes.ts";
import { type Plan, planQuery, planStages } from "./planner.ts";
import { applyUpdate, compileFilter, isOperatorUpdate, type Match, matchDocs, project, shape, type UpdateSpec, upsertDocument, withId } from "./query.ts";
import { type Collection, Store, type Write } from "./store.ts";
import { Replication } from "./replication.ts";
import { LockedError, OpContext, Sessions, TRANSACTION_LIFETIME_MS, type Session, type Txn } from "./transactions.ts";
import { type Doc, clone, isPlainObject, keyOf, pathValues, setPath } from "./values.ts";

export const MAX_WIRE_VERSION = 21;
export const SERVER_VERSION = "7.0.14";
export const SESSION_TIMEOUT_MINUTES = 30;

export interface Stats {
  connectionsOpened: number;
  connectionsActive: number;
  commands: Record<string, number>;
}

export interface Connection {
  id: number;
  /** host:port the client reached us at. */
  me: string;
  /** host:port of the client. */
  peer: string;
}

export class ServerState {
  readonly store = new Store();
  readonly sessions = new Sessions(this.store);
  readonly cursors = new Cursors();
  readonly stats: Stats = { connectionsOpened: 0, connectionsActive: 0, commands: {} };
  readonly startedAt = Date.now();
  readonly repl = new Replication();
  /** Called after every command that may have written, to make the writes durable. */
  flush: () => void = () => {};

  constructor() {
    // MongoDB aborts every open transaction when the primary steps down.
    this.repl.onStepDown = () => this.sessions.abortAll();
  }
}

interface Ctx {
  state: ServerState;
  db: string;
  cmd: Doc;
  op: OpContext;
  conn: Connection;
  session: Session | null;
}

type Handler = (x: Ctx) => Doc | Promise<Doc>;

const writeCommands = new Set(["insert", "update", "delete", "findAndModify"]);
const txnOnlyCommands = new Set(["commitTransaction", "abortTransaction"]);

function collName(x: Ctx): string {
  const name = x.cmd[Object.keys(x.cmd)[0] as string];
  if (typeof name !== "string" || name.length === 0) throw new CommandError(73, `collection name has invalid type ${typeof name}`);
  return name;
}

function existing(x: Ctx): Collection | undefined {
  return x.state.store.collection(x.db, collName(x));
}

function ensure(x: Ctx): Collection {
  return x.state.store.ensureCollection(x.db, collName(x));
}

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
function findDocs(x: Ctx, c: Collection | undefined, cmd: Doc, skip: number, limit: number): { docs: Doc[]; plan: Plan | null } {
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

const verbosities = new Set(["queryPlanner", "executionStats", "allPlansExecution"]);

/** queryPlanner (and executionStats when run) for the documents `filter` selects in `c`. */
function explainScan(x: Ctx, c: Collection | undefined, filter: Doc, run: (() => { plan: Plan | null; nReturned: number }) | null, wrap: (base: Doc) => Doc): Doc {
  const ns = `${x.db}.${collName(x)}`;
  const started = Date.now();
  let plan: Plan | null = null;
  let nReturned: number | undefined;
  if (run !== null) {
    const r = run();
    plan = r.plan;
    nReturned = r.nReturned;
  } else if (c !== undefined) {
    const sort = isPlainObject(x.cmd.sort) && Object.keys(x.cmd.sort).length > 0 ? (x.cmd.sort as Doc) : undefined;
    plan = planQuery(c, filter, collationStrength(x.cmd.collation), sort, x.op.txn === null);
  }
  const base: Doc =
    c === undefined || plan === null
      ? { stage: "EOF", ...(nReturned !== undefined ? { nReturned: 0 } : {}) }
      : wrap(planStages(plan, filter, ns, nReturned));
  const strip = (d: Doc): Doc => {
    const { nReturned: _n, docsExamined: _d, keysExamined: _k, ...rest } = d;
    return isPlainObject(rest.inputStage) ? { ...rest, inputStage: strip(rest.inputStage) } : rest;
  };
  const out: Doc = {
    queryPlanner: { namespace: ns, indexFilterSet: false, parsedQuery: filter, maxIndexedOrSolutionsReached: false, maxIndexedAndSolutionsReached: false, maxScansToExplodeReached: false, winningPlan: strip(base), rejectedPlans: [] },
  };
  if (nReturned !== undefined) {
    out.executionStats = {
      executionSuccess: true,
      nReturned,
      executionTimeMillis: Date.now() - started,
      totalKeysExamined: plan?.stats.keysExamined ?? 0,
      totalDocsExamined: plan?.stats.docsExamined ?? 0,
      executionStages: base,
    };
  }
  return out;
}

function explainCommand(x: Ctx, verbosity: string): Doc {
  const name = commandName(x.cmd);
  const exec = verbosity !== "queryPlanner";
  const c = x.state.store.collection(x.db, collName(x));
  const cmd = x.cmd;
  let result: Doc;
  if (name === "find") {
    const filter = (cmd.filter ?? {}) as Doc;
    const skip = positiveInt(cmd.skip, "skip") ?? 0;
    const limit = Math.abs(Number(cmd.limit ?? 0));
    const hasSort = isPlainObject(cmd.sort) && Object.keys(cmd.sort).length > 0;
    let sortedByIndex = false;
    result = explainScan(
      x,
      c,
      filter,
      exec
        ? () => {
            const r = findDocs(x, c, cmd, skip, limit);
            sortedByIndex = r.plan?.sorted === true;
            return { plan: r.plan, nReturned: r.docs.length };
          }
        : null,
      (base) => {
        let plan = base;
        if (hasSort && !(sortedByIndex || (!exec && c !== undefined && planQuery(c, filter, collationStrength(cmd.collation), cmd.sort as Doc, true).sorted))) {
          plan = { stage: "SORT", sortPattern: cmd.sort, memLimit: 104857600, type: "simple", inputStage: plan };
        }
        if (skip > 0) plan = { stage: "SKIP", skipAmount: skip, inputStage: plan };
        if (limit > 0) plan = { stage: "LIMIT", limitAmount: limit, inputStage: plan };
        return plan;
      },
    );
  } else if (name === "count") {
    const filter = (cmd.query ?? {}) as Doc;
    result = explainScan(
      x,
      c,
      filter,
      exec
        ? () => {
            let plan: Plan | null = null;
            const n = matchDocs(x.op, c, filter, { collation: cmd.collation, onPlan: (p) => (plan = p) }).length;
            return { plan, nReturned: n };
          }
        : null,
      (base) => ({ stage: "COUNT", inputStage: base }),
    );
  } else if (name === "aggregate") {
    const pipeline = cmd.pipeline;
    if (!Array.isArray(pipeline)) throw new CommandError(14, "'pipeline' option must be specified as an array");
    const first = pipeline[0] as Doc | undefined;
    const filter = first !== undefined && isPlainObject(first.$match) ? (first.$match as Doc) : {};
    const rest = (first !== undefined && isPlainObject(first.$match) ? pipeline.slice(1) : pipeline) as Doc[];
    const scan = explainScan(
      x,
      c,
      filter,
      exec
        ? () => {
            let plan: Plan | null = null;
            const n = matchDocs(x.op, c, filter, { collation: cmd.collation, onPlan: (p) => (plan = p) }).length;
            return { plan, nReturned: n };
          }
        : null,
      (base) => base,
    );
    result = rest.length === 0 ? scan : { explainVersion: "1", stages: [{ $cursor: scan }, ...rest] };
  } else {
    throw new CommandError(2, `explain is not supported for ${name} by the embedded server`);
  }
  if (result.explainVersion === undefined) result = { explainVersion: "1", ...result };
  const { $db: _db, lsid: _l, $clusterTime: _ct, ...command } = cmd;
  return { ...result, command, serverInfo: { host: os.hostname(), port: 0, version: SERVER_VERSION, gitVersion: "devdb" }, ok: 1 };
}

function aggregateCursorNs(x: Ctx): string {
  return typeof x.cmd.aggregate === "string" ? `${x.db}.${x.cmd.aggregate}` : `${x.db}.$cmd.aggregate`;
}

function visibleDocs(x: Ctx, c: Collection | undefined, filter?: Doc): Doc[] {
  return matchDocs(x.op, c, filter, { collation: x.cmd.collation }).map((m) => m.doc);
}

/** `$lookup` with localField/foreignField only: answered with index lookups instead of a join scan. */
function isEqualityLookup(spec: unknown): spec is Doc {
  return isPlainObject(spec) && typeof spec.from === "string" && typeof spec.localField === "string" && typeof spec.foreignField === "string" && typeof spec.as === "string" && spec.pipeline === undefined && spec.let === undefined;
}

function equalityLookup(x: Ctx, docs: Doc[], spec: Doc): Doc[] {
  const foreign = x.state.store.collection(x.db, spec.from as string);
  const as = spec.as as string;
  return docs.map((doc) => {
    const locals = pathValues(doc, spec.localField as string).map((v) => (v === undefined ? null : v));
    const joined = matchDocs(x.op, foreign, { [spec.foreignField as string]: { $in: locals } }, { collation: x.cmd.collation }).map((m) => clone(m.doc));
    const out = as.includes(".") ? clone(doc) : { ...doc };
    setPath(out, as, joined);
    return out;
  });
}

const readOnlyStages = new Set(["$match", "$group", "$count", "$sort", "$skip", "$limit", "$sortByCount"]);

function runPipeline(x: Ctx, input: Doc[], pipeline: Doc[]): Doc[] {
  for (const stage of pipeline) {
    const name = Object.keys(stage)[0];
    if (name === "$out" || name === "$merge") throw new CommandError(2, `${name} is not supported by the embedded server`);
  }
  const runMingo = (stages: Doc[], docs: Doc[]): Doc[] => {
    // Some mingo stages (e.g. $addFields on a dotted path) write into their input objects, which
    // here are the stored documents; stages known not to do so skip the deep copy.
    const readOnly = stages.every((stage) => readOnlyStages.has(Object.keys(stage)[0] ?? ""));
    try {
      const agg = new Aggregator(stages, {
        processingMode: readOnly ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT,
        useStrictMode: true,
        collectionResolver: (name: string) => visibleDocs(x, x.state.store.collection(x.db, name)),
        ...(isPlainObject(x.cmd.let) ? { variables: x.cmd.let } : {}),
      });
      return agg.run(docs) as Doc[];
    } catch (e) {
      throw new CommandError(2, (e as Error).message);
    }
  };
  let docs = input;
  let segment: Doc[] = [];
  for (const stage of pipeline) {
    if (!isEqualityLookup(stage.$lookup)) {
      segment.push(stage);
      continue;
    }
    if (segment.length > 0) docs = runMingo(segment, docs);
    segment = [];
    docs = equalityLookup(x, docs, stage.$lookup);
  }
  return segment.length > 0 ? runMingo(segment, docs) : docs;
}

function helloReply(x: Ctx, legacyName: boolean): Doc {
  const me = x.conn.me;
  const now = new Date();
  const repl = x.state.repl;
  const primary = repl.isPrimary(now.getTime());
  const opTime = { ts: new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 }), t: Long.fromNumber(repl.term) };
  return {
    ...(legacyName ? { ismaster: primary } : { isWritablePrimary: primary }),
    hosts: [me],
    setName: repl.setName,
    setVersion: repl.setVersion,
    secondary: !primary,
    ...(primary ? { primary: me } : {}),
    me,
    ...(primary ? { electionId: repl.electionId } : {}),
    lastWrite: { opTime, lastWriteDate: now, majorityOpTime: opTime, majorityWriteDate: now },
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: now,
    logicalSessionTimeoutMinutes: SESSION_TIMEOUT_MINUTES,
    connectionId: x.conn.id,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    helloOk: true,
    ok: 1,
  };
}

function adminOnly(x: Ctx, name: string): void {
  if (x.db !== "admin") throw new CommandError(13, `${name} may only be run against the admin database.`);
}

const handlers: Record<string, Handler> = {
  hello: (x) => helloReply(x, false),
  isMaster: (x) => helloReply(x, true),
  ismaster: (x) => helloReply(x, true),
  ping: () => ({ ok: 1 }),
  buildInfo: () => ({
    version: SERVER_VERSION,
    gitVersion: "devdb",
    versionArray: [7, 0, 14, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: 16 * 1024 * 1024,
    storageEngines: ["devdb"],
    modules: [],
    javascriptEngine: "none",
    ok: 1,
  }),
  hostInfo: () => ({
    system: { currentTime: new Date(), hostname: os.hostname(), cpuAddrSize: 64, memSizeMB: Math.round(os.totalmem() / 1048576), numCores: os.cpus().length, cpuArch: os.arch() },
    os: { type: os.type(), name: os.type(), version: os.release() },
    extra: {},
    ok: 1,
  }),
  getParameter: () => ({ featureCompatibilityVersion: { version: "7.0" }, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ["devdb"], parsed: {}, ok: 1 }),
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  whatsmyuri: (x) => ({ you: x.conn.peer, ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  serverStatus: (x) => ({
    host: os.hostname(),
    version: SERVER_VERSION,
    process: "mongod",
    uptime: Math.floor((Date.now() - x.state.startedAt) / 1000),
    localTime: new Date(),
    connections: { current: x.state.stats.connectionsActive, totalCreated: x.state.stats.connectionsOpened },
    metrics: {
      queryExecutor: {
        collectionScans: {
          total: x.state.store.collectionScansTotal,
          nonTailable: x.state.store.collectionScansTotal,
          // devdb only: the same count per namespace.
          byNamespace: Object.fromEntries(x.state.store.collectionScans),
        },
      },
    },
    ok: 1,
  }),
  endSessions: (x) => {
    for (const lsid of (x.cmd.endSessions as unknown[]) ?? []) {
      if (isPlainObject(lsid)) x.state.sessions.end(keyOf(lsid.id));
    }
    return { ok: 1 };
  },
  killCursors: (x) => x.state.cursors.kill((x.cmd.cursors as unknown[]) ?? []),
  replSetStepDown: (x) => {
    adminOnly(x, "replSetStepDown");
    if (!x.state.repl.isPrimary()) throw new CommandError(10107, "not primary so can't step down");
    const secs = Number(x.cmd.replSetStepDown);
    if (!Number.isFinite(secs) || secs <= 0) throw new CommandError(2, "stepdown period must be a positive number of seconds");
    x.state.repl.stepDown({ ms: secs * 1000 });
    return { ok: 1 };
  },
  // Test hook (devdb only): server.stepDown(...) over the wire, e.g. from another process.
  devdbStepDown: (x) => {
    adminOnly(x, "devdbStepDown");
    const num = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));
    const info = x.state.repl.stepDown({ ms: num(x.cmd.ms), failNextWrites: num(x.cmd.failNextWrites), writesApplied: x.cmd.writesApplied === true });
    return { until: info.until, electionId: info.electionId, ok: 1 };
  },

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
        return { lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id }, value: cmd.new === true ? project(doc, cmd.fields) : null, ok: 1 };
      }
      const { doc, changed } = applyUpdate(m.doc, spec, false);
      if (changed) x.op.write([{ coll: c, id: m.id, doc }]);
      return { lastErrorObject: { n: 1, updatedExisting: true }, value: project(cmd.new === true ? doc : m.doc, cmd.fields), ok: 1 };
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
    return { cursor: x.state.cursors.first(`${x.db}.${collName(x)}`, docs, limit > 0 ? Math.min(batchSize ?? limit, limit) : batchSize, singleBatch), ok: 1 };
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
  explain: (x) => {
    const inner = x.cmd.explain;
    if (!isPlainObject(inner)) throw new CommandError(2, "explain command requires a nested object");
    const verbosity = x.cmd.verbosity === undefined ? "allPlansExecution" : String(x.cmd.verbosity);
    if (!verbosities.has(verbosity)) throw new CommandError(2, `verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}`);
    return explainCommand({ ...x, cmd: inner }, verbosity);
  },
  aggregate: (x) => {
    if (x.cmd.explain === true) return explainCommand(x, "queryPlanner");
    const pipeline = x.cmd.pipeline;
    if (!Array.isArray(pipeline)) throw new CommandError(14, "'pipeline' option must be specified as an array");
    if (!isPlainObject(x.cmd.cursor) && x.cmd.explain !== true) {
      throw new CommandError(9, "The 'cursor' option is required, except for aggregate with the explain argument");
    }
    const first = pipeline[0] as Doc | undefined;
    const prefilter = first !== undefined && isPlainObject(first.$match) ? (first.$match as Doc) : undefined;
    const input = typeof x.cmd.aggregate === "string" ? visibleDocs(x, existing(x), prefilter) : [];
    // The leading $match already ran (with the index fast path and the command's collation).
    const out = runPipeline(x, input, (prefilter === undefined ? pipeline : pipeline.slice(1)) as Doc[]);
    const cursor = x.cmd.cursor as Doc;
    return { cursor: x.state.cursors.first(aggregateCursorNs(x), out, positiveInt(cursor.batchSize, "batchSize")), ok: 1 };
  },

  createIndexes: (x) => {
    const indexes = x.cmd.indexes;
    if (!Array.isArray(indexes) || indexes.length === 0) throw new CommandError(2, "Must specify at least one index to create");
    for (const raw of indexes) {
      if (!isPlainObject(raw)) throw new CommandError(14, "index specification must be an object");
      normaliseIndexSpec(raw);
    }
    const createdCollection = existing(x) === undefined;
    const c = ensure(x);
    const before = c.indexes.size;
    for (const raw of indexes as Doc[]) x.state.store.createIndex(c, raw);
    const reply: Doc = { numIndexesBefore: before, numIndexesAfter: c.indexes.size, createdCollectionAutomatically: createdCollection };
    if (before === c.indexes.size) reply.note = "all indexes already exist";
    reply.ok = 1;
    return reply;
  },
  listIndexes: (x) => {
    const c = existing(x);
    if (c === undefined) throw new CommandError(26, `ns does not exist: ${x.db}.${collName(x)}`);
    return { cursor: x.state.cursors.first(`${c.ns}`, c.indexSpecs(), positiveInt((x.cmd.cursor as Doc | undefined)?.batchSize, "batchSize")), ok: 1 };
  },
  dropIndexes: (x) => {
    const c = existing(x);
    if (c === undefined) throw new CommandError(26, `ns not found ${x.db}.${collName(x)}`);
    const was = c.indexes.size;
    const target = x.cmd.index;
    const names: string[] = [];
    if (target === "*") {
      for (const name of c.indexes.keys()) if (name !== "_id_") names.push(name);
    } else if (typeof target === "string") {
      names.push(target);
    } else if (Array.isArray(target)) {
      for (const t of target) names.push(String(t));
    } else if (isPlainObject(target)) {
      const hit = [...c.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(target));
      if (hit === undefined) throw new CommandError(27, `can't find index with key: ${JSON.stringify(target)}`);
      names.push(hit.name);
    } else {
      throw new CommandError(14, "index must be a string, array or object");
    }
    for (const name of names) {
      if (name === "_id_") throw new CommandError(72, "cannot drop _id index");
      if (!c.indexes.has(name)) throw new CommandError(27, `index not found with name [${name}]`);
    }
    for (const name of names) x.state.store.dropIndex(c, name);
    return { nIndexesWas: was, ok: 1 };
  },
  listCollections: (x) => {
    const colls = [...(x.state.store.dbs.get(x.db)?.values() ?? [])];
    let infos: Doc[] = colls.map((c) => ({
      name: c.name,
      type: "collection",
      options: c.options,
      info: { readOnly: false, uuid: c.uuid },
      idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
    }));
    if (isPlainObject(x.cmd.filter)) {
      const q = compileFilter(x.cmd.filter);
      infos = infos.filter((i) => q.test(i));
    }
    if (x.cmd.nameOnly === true) infos = infos.map((i) => ({ name: i.name, type: i.type }));
    return { cursor: x.state.cursors.first(`${x.db}.$cmd.listCollections`, infos, positiveInt((x.cmd.cursor as Doc | undefined)?.batchSize, "batchSize")), ok: 1 };
  },
  listDatabases: (x) => {
    let dbs: Doc[] = [...x.state.store.dbs.entries()].map(([name, colls]) => {
      let size = 0;
      for (const c of colls.values()) size += c.docs.size * 64;
      return { name, sizeOnDisk: size, empty: size === 0 };
    });
    if (isPlainObject(x.cmd.filter)) {
      const q = new Query(x.cmd.filter);
      dbs = dbs.filter((d) => q.test(d));
    }
    if (x.cmd.nameOnly === true) return { databases: dbs.map((d) => ({ name: d.name })), ok: 1 };
    const totalSize = dbs.reduce((s, d) => s + Number(d.sizeOnDisk), 0);
    return { databases: dbs, totalSize, totalSizeMb: Math.floor(totalSize / 1048576), ok: 1 };
  },
  create: (x) => {
    if (existing(x) !== undefined) throw new CommandError(48, `Collection ${x.db}.${collName(x)} already exists.`);
    const options: Doc = {};
    for (const [k, v] of Object.entries(x.cmd)) {
      if (k !== "create" && !k.startsWith("$") && !["lsid", "txnNumber", "autocommit", "startTransaction", "writeConcern", "comment"].includes(k)) options[k] = v;
    }
    x.state.store.ensureCollection(x.db, collName(x), options);
    return { ok: 1 };
  },
  drop: (x) => {
    const c = existing(x);
    if (c === undefined) throw new CommandError(26, "ns not found");
    const nIndexesWas = c.indexes.size;
    x.state.store.dropCollection(c);
    return { nIndexesWas, ns: c.ns, ok: 1 };
  },
  dropDatabase: (x) => {
    for (const c of [...(x.state.store.dbs.get(x.db)?.values() ?? [])]) x.state.store.dropCollection(c);
    return { dropped: x.db, ok: 1 };
  },
  collStats: (x) => {
    const c = existing(x);
    const count = c?.docs.size ?? 0;
    let size = 0;
    if (c !== undefined) for (const d of c.docs.values()) size += BSON.calculateObjectSize(d);
    return { ns: `${x.db}.${collName(x)}`, count, size, avgObjSize: count ? Math.round(size / count) : 0, storageSize: size, nindexes: c?.indexes.size ?? 0, totalIndexSize: 0, ok: 1 };
  },
  dbStats: (x) => {
    const colls = [...(x.state.store.dbs.get(x.db)?.values() ?? [])];
    const objects = colls.reduce((s, c) => s + c.docs.size, 0);
    return { db: x.db, collections: colls.length, views: 0, objects, dataSize: objects * 64, storageSize: objects * 64, indexes: colls.reduce((s, c) => s + c.indexes.size, 0), ok: 1 };
  },
  commitTransaction: (x) => {
    if (x.op.txn === null) throw new CommandError(20, "commitTransaction must be run within a transaction");
    x.state.sessions.commit(x.op.txn);
    return { ok: 1 };
  },
  abortTransaction: (x) => {
    const t = x.op.txn;
    if (t === null) throw new CommandError(20, "abortTransaction must be run within a transaction");
    if (t.state === "committed") throw new CommandError(256, "Transaction committed");
    x.state.sessions.abort(t);
    return { ok: 1 };
  },
};

const aliases: Record<string, string> = { buildinfo: "buildInfo", HostInfo: "hostInfo" };

export function commandName(cmd: Doc): string {
  return Object.keys(cmd)[0] ?? "";
}

/** Runs one command and returns its reply document (never throws). */
export async function runCommand(state: ServerState, db: string, cmd: Doc, conn: Connection): Promise<Doc> {
  const name = commandName(cmd);
  state.stats.commands[name] = (state.stats.commands[name] ?? 0) + 1;
  const handler = handlers[aliases[name] ?? name];
  if (handler === undefined) return errorReply(new CommandError(59, `no such command: '${name}'`));
  const refusal = state.repl.refuse(name, cmd);
  if (refusal !== null && !refusal.applyFirst) return errorReply(refusal.error);
  const reply = await runWithSession(state, handler, name, db, cmd, conn);
  return refusal !== null ? errorReply(refusal.error) : reply;
}

async function runWithSession(state: ServerState, handler: Handler, name: string, db: string, cmd: Doc, conn: Connection): Promise<Doc> {
  let session: Session | null = null;
  let txn: Txn | null = null;
  let retryable = false;
  try {
    if (isPlainObject(cmd.lsid)) session = state.sessions.session(keyOf(cmd.lsid.id));
    const txnNumber = cmd.txnNumber === undefined ? undefined : Number(cmd.txnNumber);
    if (session !== null && txnNumber !== undefined && cmd.autocommit === false) {
      txn = state.sessions.transactionFor(session, txnNumber, cmd.startTransaction === true, name);
    } else if (txnOnlyCommands.has(name)) {
      throw new CommandError(251, "no transaction in progress", {}, []);
    } else if (session !== null && txnNumber !== undefined && writeCommands.has(name)) {
      if (txnNumber < session.txnNumber) {
        throw new CommandError(225, `Retryable write with txnNumber ${txnNumber} is prohibited on session because a newer retryable write with txnNumber ${session.txnNumber} has already started on this session.`);
      }
      // A retry may arrive while the first attempt still waits on a lock: share its outcome.
      if (txnNumber === session.txnNumber && session.retryReply !== null) return session.retryReply;
      if (session.txn?.state === "active") state.sessions.abort(session.txn);
      session.txnNumber = txnNumber;
      retryable = true;
    }
  } catch (e) {
    return errorReply(toCommandError(e));
  }
  if (retryable && session !== null) {
    const s = session;
    const attempt = execute(state, handler, name, db, cmd, conn, session, null);
    s.retryReply = attempt;
    const reply = await attempt;
    // Only successful writes are remembered; a failed one runs again when retried.
    if (s.retryReply === attempt && reply.ok !== 1) s.retryReply = null;
    return reply;
  }
  return execute(state, handler, name, db, cmd, conn, session, txn);
}

async function execute(state: ServerState, handler: Handler, name: string, db: string, cmd: Doc, conn: Connection, session: Session | null, txn: Txn | null): Promise<Doc> {
  const x: Ctx = { state, db, cmd, op: new OpContext(state.store, state.sessions, txn), conn, session };
  let reply: Doc;
  try {
    reply = await handler(x);
    if (txn !== null && Array.isArray(reply.writeErrors)) state.sessions.abort(txn);
  } catch (e) {
    const ce = toCommandError(e);
    if (txn !== null && !txnOnlyCommands.has(name)) state.sessions.abort(txn);
    reply = errorReply(ce);
  }
  // Acknowledged means durable: whatever the command wrote reaches the journal before the reply.
  state.flush();
  return reply;
}
