// Query planning over indexes: which index (if any) narrows a filter, the key intervals it scans
// (equality, $in, ranges, anchored-prefix regexes, equality on leading fields + range on the
// next), whether its order serves the sort, and MongoDB-shaped explain output.
// Index scans only produce candidates: every document is still tested against the whole filter,
// so bounds may be loose (a superset) but never tighter than the filter.
import { collatedKey, Index } from "./indexes.ts";
import type { Collection } from "./store.ts";
import { type Doc, isPlainObject, keyOf } from "./values.ts";

/** One component of an index key in index order: BSON type rank, then value; `e` marks the edges of a rank. */
interface Comp {
  r: number;
  v: number | string;
  e?: -1 | 1;
}

const RANK_NUMBER = 2;
const RANK_STRING = 3;
const RANK_OBJECTID = 7;
const RANK_DATE = 9;
const MIN: Comp = { r: 0, v: 0, e: -1 };
const MAX: Comp = { r: 12, v: 0, e: 1 };

/** Order of BSON types in MongoDB (MinKey, null, numbers, strings, objects, arrays, binData, ObjectId, bool, date, timestamp, regex, MaxKey). */
function comp(k: string): Comp {
  switch (k[0]) {
    case "m":
      return { r: 0, v: 0 };
    case "N":
      return { r: 1, v: 0 };
    case "n": {
      const n = Number(k.slice(1));
      return { r: RANK_NUMBER, v: Number.isNaN(n) ? -Infinity : n };
    }
    case "s":
      return { r: RANK_STRING, v: k.slice(1) };
    case "{":
      return { r: 4, v: k };
    case "a":
      return { r: 5, v: k };
    case "B":
      return { r: 6, v: k };
    case "o":
      return { r: RANK_OBJECTID, v: k.slice(1) };
    case "b":
      return { r: 8, v: k };
    case "d":
      return { r: RANK_DATE, v: Number(k.slice(1)) };
    case "r":
      return { r: 11, v: k };
    case "M":
      return { r: 12, v: 0 };
    default:
      return { r: 10, v: k };
  }
}

function cmpComp(a: Comp, b: Comp): number {
  if (a.r !== b.r) return a.r - b.r;
  const ea = a.e ?? 0;
  const eb = b.e ?? 0;
  if (ea !== 0 || eb !== 0) return ea - eb;
  return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
}

function keyComps(key: string, fields: number): string[] {
  return fields === 1 ? [key] : (JSON.parse(key) as string[]);
}

const compCache = new Map<string, Comp[]>();
function compsOf(key: string, fields: number): Comp[] {
  if (fields === 1) return [comp(key)];
  let c = compCache.get(key);
  if (c === undefined) {
    if (compCache.size > 100_000) compCache.clear();
    c = keyComps(key, fields).map(comp);
    compCache.set(key, c);
  }
  return c;
}

Index.compareKeys = (a, b, fields) => {
  if (fields === 1) {
    const c = cmpComp(comp(a), comp(b));
    return c !== 0 ? c : a < b ? -1 : a > b ? 1 : 0;
  }
  const x = compsOf(a, fields);
  const y = compsOf(b, fields);
  for (let i = 0; i < x.length; i++) {
    const c = cmpComp(x[i] as Comp, y[i] as Comp);
    if (c !== 0) return c;
  }
  return a < b ? -1 : a > b ? 1 : 0;
};

interface Interval {
  lo: Comp;
  loInc: boolean;
  hi: Comp;
  hiInc: boolean;
}

const FULL: Interval = { lo: MIN, loInc: true, hi: MAX, hiInc: true };

/** The bounds of one field: a set of points (equality/$in, as values) or one interval. */
type FieldBounds = { points: unknown[]; strings: boolean } | { interval: Interval; strings: boolean; regex: boolean };

function isRegex(v: unknown): boolean {
  return v instanceof RegExp || (typeof v === "object" && v !== null && (v as { _bsontype?: string })._bsontype === "BSONRegExp");
}

/** A value `{field: v}` matches by plain equality and whose index key is exact (no null, array, regex). */
function pointValue(v: unknown): boolean {
  if (v === null || v === undefined || Array.isArray(v) || isRegex(v)) return false;
  if (isPlainObject(v)) return !Object.keys(v).some((k) => k.startsWith("$"));
  const t = (v as { _bsontype?: string })?._bsontype;
  return t !== "MinKey" && t !== "MaxKey";
}

function rangeRank(v: unknown): number | null {
  const k = keyOf(v);
  switch (k[0]) {
    case "n":
      return Number.isNaN(Number(k.slice(1))) ? null : RANK_NUMBER;
    case "s":
      return RANK_STRING;
    case "d":
      return RANK_DATE;
    case "o":
      return RANK_OBJECTID;
    default:
      return null;
  }
}

/** The literal prefix of an anchored, case-sensitive regex (`/^abc/`), or null. */
export function regexPrefix(v: unknown): string | null {
  let source: string;
  let flags: string;
  if (v instanceof RegExp) {
    source = v.source;
    flags = v.flags;
  } else if (isRegex(v)) {
    source = (v as { pattern: string }).pattern;
    flags = (v as { options: string }).options;
  } else return null;
  if (/[imx]/.test(flags) || !source.startsWith("^") || source.startsWith("^(?")) return null;
  let prefix = "";
  let i = 1;
  while (i < source.length) {
    const ch = source[i] as string;
    if (ch === "\\") {
      const next = source[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      prefix += next;
      i += 2;
      continue;
    }
    if (".^$|?*+()[]{}".includes(ch)) {
      // A quantifier makes the last literal optional.
      if ("?*{".includes(ch) && prefix.length > 0) prefix = prefix.slice(0, -1);
      if (ch === "|") return null;
      break;
    }
    prefix += ch;
    i++;
  }
  if (source.includes("|")) return null;
  return prefix;
}

function intersect(a: Interval, b: Interval): Interval {
  const lc = cmpComp(a.lo, b.lo);
  const hc = cmpComp(a.hi, b.hi);
  return {
    lo: lc > 0 ? a.lo : b.lo,
    loInc: lc > 0 ? a.loInc : lc < 0 ? b.loInc : a.loInc && b.loInc,
    hi: hc < 0 ? a.hi : b.hi,
    hiInc: hc < 0 ? a.hiInc : hc > 0 ? b.hiInc : a.hiInc && b.hiInc,
  };
}

/** The interval `{$op: v}` selects in an index of collation strength `strength`, or null. */
function opInterval(op: string, v: unknown, strength: number | null): Interval | null {
  if (op === "$regex") {
    const prefix = regexPrefix(v);
    if (prefix === null) return null;
    if (prefix === "") return { lo: { r: RANK_STRING, v: "" }, loInc: true, hi: { r: RANK_STRING, v: 0, e: 1 }, hiInc: true };
    const last = prefix.charCodeAt(prefix.length - 1);
    return {
      lo: { r: RANK_STRING, v: prefix },
      loInc: true,
      hi: { r: RANK_STRING, v: prefix.slice(0, -1) + String.fromCharCode(last + 1) },
      hiInc: false,
    };
  }
  const rank = rangeRank(v);
  if (rank === null) return null;
  const at = comp(collatedKey(v, strength));
  switch (op) {
    case "$gt":
    case "$gte":
      return { lo: at, loInc: op === "$gte", hi: { r: rank, v: 0, e: 1 }, hiInc: true };
    case "$lt":
    case "$lte":
      return { lo: { r: rank, v: 0, e: -1 }, loInc: true, hi: at, hiInc: op === "$lte" };
    default:
      return null;
  }
}

function hasString(v: unknown): boolean {
  if (typeof v === "string") return true;
  if (Array.isArray(v)) return v.some(hasString);
  return isPlainObject(v) && Object.values(v).some(hasString);
}

/** Bounds one condition puts on a field, for an index (multikey or not) of strength `strength`. */
function condBounds(cond: unknown, strength: number | null, multikey: boolean): FieldBounds | null {
  if (isRegex(cond)) {
    const i = opInterval("$regex", cond, strength);
    return i === null ? null : { interval: i, strings: true, regex: true };
  }
  if (!isPlainObject(cond) || !Object.keys(cond).some((k) => k.startsWith("$"))) {
    return pointValue(cond) ? { points: [cond], strings: hasString(cond) } : null;
  }
  if (Array.isArray(cond.$in)) {
    if (cond.$in.every(pointValue)) return { points: cond.$in, strings: hasString(cond.$in) };
  }
  if ("$eq" in cond && pointValue(cond.$eq)) return { points: [cond.$eq], strings: hasString(cond.$eq) };
  let interval: Interval | null = null;
  let strings = false;
  let regex = false;
  for (const [op, arg] of Object.entries(cond)) {
    let i: Interval | null = null;
    if (op === "$regex") {
      // {$regex: "^a", $options: "i"} is case-insensitive: not a prefix.
      if (typeof cond.$options === "string" && /[imx]/.test(cond.$options)) continue;
      i = opInterval("$regex", typeof arg === "string" ? new RegExp(arg) : arg, strength);
      if (i !== null) regex = true;
    } else i = opInterval(op, arg, strength);
    if (i === null) continue;
    if (op !== "$regex" && typeof arg === "string") strings = true;
    if (op === "$regex") strings = true;
    // On a multikey index each condition may be met by a different element: no intersection.
    if (interval === null) interval = i;
    else if (!multikey) interval = intersect(interval, i);
  }
  return interval === null ? null : { interval, strings, regex };
}

/** Conditions per field of the top-level conjunction (fields of `$and` members included). */
function fieldConditions(filter: Doc, into = new Map<string, unknown[]>()): Map<string, unknown[]> {
  for (const [k, v] of Object.entries(filter)) {
    if (k === "$and" && Array.isArray(v)) {
      for (const part of v) if (isPlainObject(part)) fieldConditions(part, into);
      continue;
    }
    if (k.startsWith("$")) continue;
    const list = into.get(k);
    if (list === undefined) into.set(k, [v]);
    else list.push(v);
  }
  return into;
}

function usableBounds(index: Index, conds: unknown[] | undefined, queryStrength: number | null): FieldBounds | null {
  if (conds === undefined) return null;
  for (const cond of conds) {
    const b = condBounds(cond, index.strength, index.multikey);
    if (b === null) continue;
    if (b.strings && index.strength !== queryStrength) continue;
    if ("regex" in b && b.regex && (index.strength !== null || queryStrength !== null)) continue;
    return b;
  }
  return null;
}

/** Whether every document the query matches is in the partial index (the query implies the filter). */
function impliesPartial(conds: Map<string, unknown[]>, partial: unknown): boolean {
  if (!isPlainObject(partial)) return false;
  for (const [field, pc] of fieldConditions(partial)) {
    if (Object.keys(partial).some((k) => k.startsWith("$") && k !== "$and")) return false;
    const qs = conds.get(field) ?? [];
    const ok = (pc as unknown[]).every((p) => qs.some((q) => implies(q, p)));
    if (!ok) return false;
  }
  return true;
}

function implies(q: unknown, p: unknown): boolean {
  if (keyOf(q) === keyOf(p)) return true;
  const qb = condBounds(q, null, false);
  if (qb === null) return false;
  if (isPlainObject(p) && Object.keys(p).length === 1 && p.$exists === true) return true; // every bound excludes missing
  const pb = condBounds(p, null, false);
  if (pb === null || !("interval" in pb) || pb.regex) return false;
  const within = (i: Interval) =>
    cmpComp(i.lo, pb.interval.lo) > 0 || (cmpComp(i.lo, pb.interval.lo) === 0 && (pb.interval.loInc || !i.loInc));
  const below = (i: Interval) =>
    cmpComp(i.hi, pb.interval.hi) < 0 || (cmpComp(i.hi, pb.interval.hi) === 0 && (pb.interval.hiInc || !i.hiInc));
  if ("points" in qb)
    return qb.points.every((v) => {
      const c = comp(keyOf(v));
      return within({ lo: c, loInc: true, hi: c, hiInc: true }) && below({ lo: c, loInc: true, hi: c, hiInc: true });
    });
  return within(qb.interval) && below(qb.interval);
}

export interface ScanStats {
  keysExamined: number;
  docsExamined: number;
}

export interface Plan {
  /** null: collection scan. */
  index: Index | null;
  /** Candidate ids, in index order; undefined for a collection scan. */
  ids?: () => Iterable<string>;
  /** Bounds per index field, as explain prints them. */
  bounds?: () => Record<string, string[]>;
  /** Whether `ids` come in the order the requested sort asks for. */
  sorted: boolean;
  direction: 1 | -1;
  stats: ScanStats;
}

const MAX_POINT_COMBINATIONS = 500;

interface Candidate {
  index: Index;
  bounds: FieldBounds[];
  /** Number of leading fields with exactly one point. */
  singlePoints: number;
  score: number;
}

function candidateFor(index: Index, conds: Map<string, unknown[]>, queryStrength: number | null): Candidate | null {
  if (index.spec.hidden === true) return null;
  if (index.partial !== null && !impliesPartial(conds, index.spec.partialFilterExpression)) return null;
  const bounds: FieldBounds[] = [];
  let combos = 1;
  for (const field of index.fields) {
    const b = usableBounds(index, conds.get(field), queryStrength);
    if (b === null) break;
    if ("points" in b) {
      combos *= Math.max(1, b.points.length);
      // A long $in on the first field is fine (hash lookups); products over several fields are capped.
      if (combos > MAX_POINT_COMBINATIONS && bounds.length > 0) break;
      bounds.push(b);
      continue;
    }
    bounds.push(b);
    break;
  }
  if (bounds.length === 0) return null;
  let singlePoints = 0;
  while (
    singlePoints < bounds.length &&
    "points" in (bounds[singlePoints] as FieldBounds) &&
    (bounds[singlePoints] as { points: unknown[] }).points.length === 1
  )
    singlePoints++;
  const allPoints = bounds.every((b) => "points" in b);
  const exact = allPoints && bounds.length === index.fields.length;
  // Prefer unique exact matches, then more bounded fields, then points over ranges.
  const score = (exact && index.unique ? 1000 : 0) + bounds.length * 10 + (allPoints ? 5 : 0) - index.fields.length * 0.01;
  return { index, bounds, singlePoints, score };
}

/** Which fields (ascending on all, or descending on all) the index order sorts by after its single-point prefix. */
function servesSort(index: Index, singlePoints: number, sort: Doc | undefined): 1 | -1 | null {
  if (sort === undefined) return null;
  const entries = Object.entries(sort);
  if (entries.length === 0 || index.multikey || index.strength !== null || index.sparse) return null;
  const dirs = entries.map(([, v]) => (isPlainObject(v) ? 0 : Number(v) < 0 ? -1 : 1));
  const dir = dirs[0] as number;
  if (dir === 0 || dirs.some((d) => d !== dir)) return null;
  for (let skip = 0; skip <= singlePoints; skip++) {
    const fields = index.fields.slice(skip, skip + entries.length);
    if (fields.length === entries.length && fields.every((f, i) => f === entries[i]?.[0])) return dir as 1 | -1;
  }
  return null;
}

function comboList(bounds: FieldBounds[]): unknown[][] {
  let combos: unknown[][] = [[]];
  for (const b of bounds) {
    if (!("points" in b)) break;
    const next: unknown[][] = [];
    for (const c of combos) for (const p of b.points) next.push([...c, p]);
    combos = next;
  }
  return combos;
}

function* scanIndex(index: Index, bounds: FieldBounds[], direction: 1 | -1, stats: ScanStats): Generator<string> {
  const n = index.fields.length;
  const pointFields = bounds.filter((b) => "points" in b).length;
  const seen = new Set<string>();
  const emit = function* (ids: Iterable<string>): Generator<string> {
    for (const id of ids) {
      stats.keysExamined++;
      if (seen.has(id)) continue;
      seen.add(id);
      yield id;
    }
  };
  const combos = comboList(bounds);
  if (pointFields === n && combos.length === 1) {
    for (const id of index.lookup(index.tupleKey(combos[0] as unknown[]))) {
      stats.keysExamined++;
      yield id;
    }
    return;
  }
  if (pointFields === n) {
    // Every field fixed: hash lookups, in index order.
    const keys = [...new Set(combos.map((c) => index.tupleKey(c)))].sort((a, b) => Index.compareKeys(a, b, n));
    if (direction < 0) keys.reverse();
    for (const k of keys) {
      yield* emit(index.lookup(k));
    }
    return;
  }
  const last = bounds[pointFields];
  const interval = last !== undefined && "interval" in last ? last.interval : FULL;
  const list = index.orderedKeys();
  const ranges = combos.map((c) => {
    const prefix = c.map((v) => comp(collatedKey(v, index.strength)));
    return { prefix, interval };
  });
  ranges.sort((a, b) => {
    for (let i = 0; i < a.prefix.length; i++) {
      const c = cmpComp(a.prefix[i] as Comp, b.prefix[i] as Comp);
      if (c !== 0) return c;
    }
    return 0;
  });
  if (direction < 0) ranges.reverse();
  const k = pointFields;
  // Position of an entry relative to the range: <0 before it, 0 inside, >0 after.
  const where = (key: string, prefix: Comp[], iv: Interval): number => {
    const cs = compsOf(key, n);
    for (let i = 0; i < k; i++) {
      const c = cmpComp(cs[i] as Comp, prefix[i] as Comp);
      if (c !== 0) return c;
    }
    const v = cs[k] as Comp;
    const lo = cmpComp(v, iv.lo);
    if (lo < 0 || (lo === 0 && !iv.loInc)) return -1;
    const hi = cmpComp(v, iv.hi);
    if (hi > 0 || (hi === 0 && !iv.hiInc)) return 1;
    return 0;
  };
  for (const { prefix, interval: iv } of ranges) {
    // First entry not before the range.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (where(list[mid] as string, prefix, iv) < 0) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    let hi2 = list.length;
    while (end < hi2) {
      const mid = (end + hi2) >> 1;
      if (where(list[mid] as string, prefix, iv) <= 0) end = mid + 1;
      else hi2 = mid;
    }
    if (direction > 0) {
      for (let i = lo; i < end; i++) {
        yield* emit(index.lookup(list[i] as string));
      }
    } else {
      for (let i = end - 1; i >= lo; i--) {
        yield* emit(index.lookup(list[i] as string));
      }
    }
  }
}

function printComp(c: Comp, inclusive: boolean, low: boolean): string {
  if (c.e !== undefined) {
    if (c.r === 0) return "MinKey";
    if (c.r === 12) return "MaxKey";
    if (c.r === RANK_NUMBER) return low ? "-inf.0" : "inf.0";
    if (c.r === RANK_STRING) return low ? '""' : "{}";
    if (c.r === RANK_DATE) return low ? "new Date(-9223372036854775808)" : "new Date(9223372036854775807)";
    if (c.r === RANK_OBJECTID) return low ? "ObjectId('000000000000000000000000')" : "ObjectId('ffffffffffffffffffffffff')";
    return inclusive ? "MinKey" : "MaxKey";
  }
  if (c.r === RANK_STRING) return JSON.stringify(c.v);
  if (c.r === RANK_DATE) return `new Date(${c.v})`;
  if (c.r === RANK_OBJECTID) return `ObjectId('${c.v}')`;
  if (c.r === 1) return "null";
  if (c.r === 0) return "MinKey";
  if (c.r === 12) return "MaxKey";
  return String(c.v);
}

function printInterval(i: Interval): string {
  return `${i.loInc ? "[" : "("}${printComp(i.lo, i.loInc, true)}, ${printComp(i.hi, i.hiInc, false)}${i.hiInc ? "]" : ")"}`;
}

function printBounds(index: Index, bounds: FieldBounds[], direction: 1 | -1): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  index.fields.forEach((f, i) => {
    const b = bounds[i];
    let list: string[];
    if (b === undefined) list = ["[MinKey, MaxKey]"];
    else if ("points" in b) {
      list = [...new Map(b.points.map((p) => [collatedKey(p, index.strength), p])).keys()]
        .sort((x, y) => Index.compareKeys(x, y, 1))
        .map((k) => {
          const s = printComp(comp(k), true, true);
          return `[${s}, ${s}]`;
        });
    } else list = [printInterval(b.interval)];
    out[f] = direction < 0 ? list.reverse() : list;
  });
  return out;
}

/**
 * Picks how to find the documents matching `filter` (unfolded) in `c`: the best index whose
 * bounds the filter implies, else a full scan of an index that yields the sort order, else a
 * collection scan. `sort` is considered only when `allowSortedScan` (no transaction overlay).
 */
export function planQuery(c: Collection, filter: Doc, queryStrength: number | null, sort?: Doc, allowSortedScan = false): Plan {
  const stats: ScanStats = { keysExamined: 0, docsExamined: 0 };
  const conds = fieldConditions(filter);
  let best: Candidate | null = null;
  if (conds.size > 0) {
    for (const index of c.indexes.values()) {
      const cand = candidateFor(index, conds, queryStrength);
      if (cand !== null && (best === null || cand.score > best.score)) best = cand;
    }
  }
  const wantSort = allowSortedScan && queryStrength === null && sort !== undefined ? sort : undefined;
  if (best !== null) {
    const b = best;
    const dir = servesSort(b.index, b.singlePoints, wantSort);
    const direction = dir ?? 1;
    return {
      index: b.index,
      ids: () => scanIndex(b.index, b.bounds, direction, stats),
      bounds: () => printBounds(b.index, b.bounds, direction),
      sorted: dir !== null,
      direction,
      stats,
    };
  }
  if (wantSort !== undefined) {
    for (const index of c.indexes.values()) {
      if (index.partial !== null || index.spec.hidden === true) continue;
      const dir = servesSort(index, 0, wantSort);
      if (dir === null) continue;
      return {
        index,
        ids: () => scanIndex(index, [], dir, stats),
        bounds: () => printBounds(index, [], dir),
        sorted: true,
        direction: dir,
        stats,
      };
    }
  }
  return { index: null, sorted: false, direction: 1, stats };
}

/** The winningPlan stages for a plan (FETCH → IXSCAN, or COLLSCAN), with execution numbers when run. */
export function planStages(plan: Plan, filter: Doc, ns: string, nReturned?: number): Doc {
  const exec = nReturned !== undefined;
  if (plan.index === null) {
    return {
      stage: "COLLSCAN",
      filter,
      direction: "forward",
      ...(exec ? { nReturned, docsExamined: plan.stats.docsExamined } : {}),
    };
  }
  const index = plan.index;
  const ixscan: Doc = {
    stage: "IXSCAN",
    keyPattern: index.spec.key,
    indexName: index.name,
    ...(index.spec.collation !== undefined ? { collation: index.spec.collation } : {}),
    isMultiKey: index.multikey,
    multiKeyPaths: Object.fromEntries(index.fields.map((f) => [f, index.multikey ? [f] : []])),
    isUnique: index.unique,
    isSparse: index.sparse,
    isPartial: index.partial !== null,
    indexVersion: 2,
    direction: plan.direction > 0 ? "forward" : "backward",
    indexBounds: plan.bounds?.() ?? {},
    ...(exec ? { keysExamined: plan.stats.keysExamined, nReturned: plan.stats.docsExamined } : {}),
  };
  void ns;
  return {
    stage: "FETCH",
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
    ...(exec ? { nReturned, docsExamined: plan.stats.docsExamined } : {}),
    inputStage: ixscan,
  };
}
