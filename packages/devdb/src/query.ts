// Matching, sorting and projecting documents, and applying update documents (mingo underneath).
import { ObjectId } from "bson";
import { update as mingoUpdate, updateOne as mingoUpdateOne, Query } from "mingo";
import { CommandError } from "./errors.ts";
import { simpleMatcher, simpleUpdate } from "./fast-path.ts";
import { collationStrength, foldDeep } from "./indexes.ts";
import { type Plan, planQuery } from "./planner.ts";
import type { Collection } from "./store.ts";
import type { OpContext } from "./transactions.ts";
import { clone, type Doc, isPlainObject, keyOf, setPath } from "./values.ts";

const mingoOptions = { useStrictMode: true };

export function compileFilter(filter: unknown): Query {
  if (filter !== undefined && filter !== null && !isPlainObject(filter)) throw new CommandError(14, "filter must be an object");
  try {
    return new Query((filter ?? {}) as Doc, mingoOptions);
  } catch (e) {
    throw new CommandError(2, (e as Error).message);
  }
}

/** A value that `{field: value}` matches only by equality, and whose index key is exact. */
function equalityValue(v: unknown): { ok: boolean; value?: unknown } {
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$eq") return equalityValue(v.$eq);
    if (keys.some((k) => k.startsWith("$"))) return { ok: false };
    return { ok: true, value: v };
  }
  if (v === null || v === undefined || Array.isArray(v) || v instanceof RegExp) return { ok: false };
  if (typeof v === "object" && (v as { _bsontype?: string })._bsontype === "BSONRegExp") return { ok: false };
  return { ok: true, value: v };
}

export interface MatchOptions {
  /** Stop after this many matches (0 = all); with `sort`, only when the scan yields that order. */
  limit?: number;
  /** The command's collation; strength 1-2 compares strings case-insensitively. */
  collation?: unknown;
  /** The order the caller wants: an index that yields it is used (see `Plan.sorted`). */
  sort?: Doc | undefined;
  /** Receives the plan used; its stats are complete when matchDocs returns. */
  onPlan?: (plan: Plan) => void;
}

export interface Match {
  id: string;
  doc: Doc;
}

/** Documents visible to `ctx` that match `filter`, in natural order. */
export function matchDocs(ctx: OpContext, c: Collection | undefined, filter: unknown, opts: MatchOptions = {}): Match[] {
  if (c === undefined) return [];
  if (filter !== undefined && filter !== null && !isPlainObject(filter)) throw new CommandError(14, "filter must be an object");
  const strength = collationStrength(opts.collation);
  const f = filter ?? {};
  const folded = strength === null ? f : (foldDeep(f, strength) as Doc);
  let test = simpleMatcher(folded);
  if (test === null) {
    const q = compileFilter(folded);
    test = (d) => q.test(d);
  }
  const matches = strength === null ? test : (d: Doc) => (test as (d: Doc) => boolean)(foldDeep(d, strength) as Doc);
  const out: Match[] = [];
  const sort = isPlainObject(opts.sort) && Object.keys(opts.sort).length > 0 ? opts.sort : undefined;
  const plan = planQuery(c, f as Doc, strength, sort, ctx.txn === null);
  opts.onPlan?.(plan);
  const limit = sort === undefined || plan.sorted ? (opts.limit ?? 0) : 0;
  if (plan.index === null) ctx.store.countCollectionScan(c.ns);
  for (const [id, doc] of ctx.scan(c, plan.ids?.())) {
    plan.stats.docsExamined++;
    if (!matches(doc)) continue;
    out.push({ id, doc });
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

export interface FindOptions {
  collation?: unknown;
  sort?: Doc | undefined;
  projection?: Doc | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
}

/** Sort, skip, limit and projection over already-matched documents. */
export function shape(input: Doc[], o: FindOptions): Doc[] {
  let docs = input;
  let sort = isPlainObject(o.sort) ? o.sort : {};
  if ("$natural" in sort) {
    if (Number(sort.$natural) < 0) docs = [...docs].reverse();
    const { $natural: _, ...rest } = sort;
    sort = rest;
  }
  if (!hasKeys(o.projection) && !hasKeys(sort)) return docs.slice(o.skip ?? 0, o.limit ? (o.skip ?? 0) + o.limit : undefined);
  const options =
    isPlainObject(o.collation) && collationStrength(o.collation) !== null
      ? { ...mingoOptions, collation: o.collation as never }
      : mingoOptions;
  let cursor = new Query({}, options).find(docs, hasKeys(o.projection) ? withIdDefault(o.projection as Doc) : undefined);
  if (hasKeys(sort)) cursor = cursor.sort(normaliseSort(sort));
  if (o.skip) cursor = cursor.skip(o.skip);
  if (o.limit) cursor = cursor.limit(o.limit);
  try {
    return cursor.all() as Doc[];
  } catch (e) {
    throw new CommandError(2, (e as Error).message);
  }
}

function hasKeys(d: unknown): boolean {
  return isPlainObject(d) && Object.keys(d).length > 0;
}

function normaliseSort(sort: Doc): Record<string, 1 | -1> {
  const out: Record<string, 1 | -1> = {};
  for (const [k, v] of Object.entries(sort)) {
    if (isPlainObject(v)) continue; // {$meta: ...}
    out[k] = Number(v) < 0 ? -1 : 1;
  }
  return out;
}

/** MongoDB includes _id in inclusion projections unless excluded. */
function withIdDefault(p: Doc): Doc {
  if ("_id" in p) return p;
  const inclusion = Object.entries(p).some(
    ([k, v]) => k !== "_id" && (v === 1 || v === true || isPlainObject(v) || typeof v === "string"),
  );
  return inclusion ? { _id: 1, ...p } : p;
}

export function project(doc: Doc, projection: unknown): Doc {
  if (!hasKeys(projection)) return doc;
  return shape([doc], { projection: projection as Doc })[0] ?? {};
}

export function isOperatorUpdate(u: unknown): boolean {
  if (!isPlainObject(u)) return false;
  const keys = Object.keys(u);
  return keys.length > 0 && (keys[0] as string).startsWith("$");
}

function immutableIdError(): CommandError {
  return new CommandError(66, "Performing an update on the path '_id' would modify the immutable field '_id'");
}

export interface UpdateSpec {
  u: unknown;
  arrayFilters?: Doc[] | undefined;
  filter: Doc;
}

export interface Updated {
  /** A new object; the input document is left untouched. */
  doc: Doc;
  changed: boolean;
}

export function applyUpdate(old: Doc, spec: UpdateSpec, inserting: boolean): Updated {
  const { u } = spec;
  if (Array.isArray(u)) {
    const docs = [clone(old)];
    try {
      mingoUpdateOne(docs, {}, u as never, {}, mingoOptions);
    } catch (e) {
      throw new CommandError(2, (e as Error).message);
    }
    const doc = docs[0] as Doc;
    if (keyOf(doc._id) !== keyOf(old._id)) throw immutableIdError();
    return { doc, changed: keyOf(doc) !== keyOf(old) };
  }
  if (!isPlainObject(u)) throw new CommandError(9, "Update argument must be either an object or an array");
  if (!isOperatorUpdate(u)) {
    for (const k of Object.keys(u)) {
      if (k.startsWith("$"))
        throw new CommandError(
          52,
          `The dollar ($) prefixed field '${k}' in '${k}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
        );
    }
    if ("_id" in u && old._id !== undefined && keyOf(u._id) !== keyOf(old._id)) {
      throw new CommandError(
        66,
        `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${String(u._id)}`,
      );
    }
    const doc: Doc = old._id !== undefined ? { _id: old._id } : {};
    for (const [k, v] of Object.entries(u)) if (k !== "_id" || old._id === undefined) doc[k] = clone(v);
    return { doc, changed: keyOf(doc) !== keyOf(old) };
  }
  const mods: Doc = {};
  for (const [op, args] of Object.entries(u)) {
    if (!op.startsWith("$"))
      throw new CommandError(
        9,
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    if (!isPlainObject(args)) throw new CommandError(9, `Modifiers operate on fields but we found type ${typeof args} instead.`);
    if (op === "$setOnInsert") {
      if (inserting) mods.$set = { ...((mods.$set as Doc | undefined) ?? {}), ...args };
      continue;
    }
    mods[op] = op === "$set" ? { ...((mods.$set as Doc | undefined) ?? {}), ...args } : args;
  }
  const doc = clone(old);
  let changed: boolean | null = simpleUpdate(doc, mods);
  if (changed === null) {
    try {
      changed =
        Object.keys(mods).length > 0 &&
        mingoUpdate(doc, mods as never, spec.arrayFilters, spec.filter as never, {
          cloneMode: "deep",
          queryOptions: mingoOptions,
        }).length > 0;
    } catch (e) {
      const message = (e as Error).message;
      if (message.includes("immutable field '_id'")) throw immutableIdError();
      throw new CommandError(2, message);
    }
  }
  if (old._id !== undefined && keyOf(doc._id) !== keyOf(old._id)) throw immutableIdError();
  return { doc, changed };
}

/** The document an upsert inserts: equality fields of the filter, then the update applied. */
export function upsertDocument(filter: Doc, spec: UpdateSpec): Doc {
  let base: Doc = {};
  if (isOperatorUpdate(spec.u) || Array.isArray(spec.u)) {
    collectEqualities(filter, base);
  } else if (filter._id !== undefined && equalityValue(filter._id).ok && !(isPlainObject(spec.u) && "_id" in spec.u)) {
    base = { _id: equalityValue(filter._id).value };
  }
  return withId(applyUpdate(base, spec, true).doc);
}

function collectEqualities(filter: Doc, into: Doc): void {
  for (const [k, v] of Object.entries(filter)) {
    if (k === "$and" && Array.isArray(v)) {
      for (const part of v) if (isPlainObject(part)) collectEqualities(part, into);
      continue;
    }
    if (k.startsWith("$")) continue;
    const eq = equalityValue(v);
    if (eq.ok || v === null) setPath(into, k, clone(eq.ok ? eq.value : null));
  }
}

/** The document with an `_id` (a new ObjectId when missing), `_id` first as MongoDB stores it. */
export function withId(doc: Doc): Doc {
  if ("_id" in doc && Object.keys(doc)[0] === "_id") return doc;
  return { _id: doc._id === undefined ? new ObjectId() : doc._id, ...doc };
}
