import { Query } from "mingo";
import { CommandError } from "./errors.ts";
import { type Doc, formatDoc, isPlainObject, keyOf, pathValues } from "./values.ts";

interface IndexKey {
  /** Canonical string of the key tuple (after collation folding). */
  key: string;
  /** The document's values for the key fields, for error messages. */
  values: unknown[];
}

const collationDefaults: Doc = {
  locale: "simple",
  caseLevel: false,
  caseFirst: "off",
  strength: 3,
  numericOrdering: false,
  alternate: "non-ignorable",
  maxVariable: "punct",
  normalization: false,
  backwards: false,
  version: "57.1",
};

/** The collation as the server stores and reports it (all fields filled in). */
export function normaliseCollation(c: unknown): Doc | undefined {
  if (!isPlainObject(c)) return undefined;
  if (c.locale === "simple") return undefined;
  if (typeof c.locale !== "string") throw new CommandError(2, "collation must specify a locale");
  return { ...collationDefaults, ...c, version: "57.1" };
}

function foldString(s: string, strength: number): string {
  if (strength >= 3) return s;
  const lower = s.normalize("NFC").toLocaleLowerCase();
  return strength === 1 ? lower.normalize("NFD").replace(/\p{M}/gu, "") : lower;
}

/** The comparison strength a collation asks for, or null for binary (case-sensitive) comparison. */
export function collationStrength(c: unknown): number | null {
  if (!isPlainObject(c) || c.locale === "simple" || c.locale === undefined) return null;
  const strength = Number(c.strength ?? 3);
  return strength >= 3 ? null : strength;
}

const unfoldedOperators = new Set(["$type", "$regex", "$options", "$expr", "$where", "$jsonSchema", "$text", "$mod", "$size"]);

/** A copy with every string folded for comparison at `strength` (operator arguments like $type kept). */
export function foldDeep(v: unknown, strength: number): unknown {
  if (typeof v === "string") return foldString(v, strength);
  if (Array.isArray(v)) return v.map((e) => foldDeep(e, strength));
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const [k, e] of Object.entries(v)) out[k] = unfoldedOperators.has(k) ? e : foldDeep(e, strength);
    return out;
  }
  return v;
}

/** Key string for a value under an optional collation strength (strings only are folded). */
export function collatedKey(v: unknown, strength: number | null): string {
  return strength !== null && typeof v === "string" ? "s" + foldString(v, strength) : keyOf(v);
}

export class Index {
  readonly spec: Doc;
  readonly name: string;
  readonly fields: string[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly partial: Query | null;
  /** collationStrength of the index collation: 1-2 fold strings, null compares them binary. */
  readonly strength: number | null;
  /** key string → id (as keyOf(_id)) of the document holding it, or a set when several do. */
  readonly entries = new Map<string, string | Set<string>>();
  /** Whether some document ever had several keys (an array on an indexed path). */
  multikey = false;
  /** The keys in index order (see planner.ts), kept lazily: null until a range scan needs it. */
  private ordered: string[] | null = null;
  /** Keys added to / removed from `entries` since `ordered` was last brought up to date. */
  private readonly changed = new Set<string>();
  /** Orders two keys of this index; set by the planner, which owns key ordering. */
  static compareKeys: (a: string, b: string, fields: number) => number = () => 0;

  constructor(spec: Doc) {
    this.spec = spec;
    this.name = String(spec.name);
    this.fields = Object.keys(spec.key as Doc);
    this.unique = spec.unique === true || this.name === "_id_";
    this.sparse = spec.sparse === true;
    this.partial = isPlainObject(spec.partialFilterExpression) ? new Query(spec.partialFilterExpression) : null;
    this.strength = collationStrength(spec.collation);
  }

  /** Whether equality lookups on `field` under a query collation can be answered from this index alone. */
  servesEquality(field: string, strength: number | null): boolean {
    return (
      this.fields.length === 1 && this.fields[0] === field && !this.sparse && this.partial === null && this.strength === strength
    );
  }

  /** The index keys of a document (none when sparse/partial exclude it). */
  keys(doc: Doc): string[] {
    if (this.fields.length === 1) {
      const f = this.fields[0] as string;
      const v = doc[f];
      if (!f.includes(".") && !Array.isArray(v) && !isPlainObject(v) && this.partial === null) {
        if (v === undefined && this.sparse) return [];
        return [collatedKey(v === undefined ? null : v, this.strength)];
      }
    }
    return this.entriesOf(doc).map((e) => e.key);
  }

  /** Keys with the document's values for them (for error messages). */
  private entriesOf(doc: Doc): IndexKey[] {
    const perField = this.fields.map((f) => pathValues(doc, f));
    if (this.sparse && perField.every((vals) => vals.every((v) => v === undefined))) return [];
    if (this.partial !== null && !this.partial.test(doc)) return [];
    let tuples: unknown[][] = [[]];
    for (const vals of perField) {
      const next: unknown[][] = [];
      for (const t of tuples) for (const v of dedupe(vals)) next.push([...t, v === undefined ? null : v]);
      tuples = next;
    }
    return tuples.map((values) => ({ key: this.tupleKey(values), values }));
  }

  /** The key of a tuple of values (one per field), as keys() produces it. */
  tupleKey(values: unknown[]): string {
    return values.length === 1
      ? collatedKey(values[0], this.strength)
      : JSON.stringify(values.map((v) => collatedKey(v, this.strength)));
  }

  add(id: string, keys: string[]): void {
    if (keys.length > 1) this.multikey = true;
    for (const k of keys) {
      const held = this.entries.get(k);
      if (held === undefined) {
        this.entries.set(k, id);
        if (this.ordered !== null) this.changed.add(k);
      } else if (typeof held === "string") {
        if (held !== id) this.entries.set(k, new Set([held, id]));
      } else held.add(id);
    }
  }

  remove(id: string, keys: string[]): void {
    for (const k of keys) {
      const held = this.entries.get(k);
      if (held === undefined) continue;
      if (typeof held === "string") {
        if (held === id) {
          this.entries.delete(k);
          if (this.ordered !== null) this.changed.add(k);
        }
        continue;
      }
      held.delete(id);
      if (held.size === 1) this.entries.set(k, held.values().next().value as string);
    }
  }

  /** All keys in index order (ascending on every field, whatever the spec's directions). */
  orderedKeys(): string[] {
    const cmp = (a: string, b: string) => Index.compareKeys(a, b, this.fields.length);
    if (this.ordered === null || this.changed.size > 256 + this.ordered.length / 16) {
      this.ordered = [...this.entries.keys()].sort(cmp);
      this.changed.clear();
      return this.ordered;
    }
    const list = this.ordered;
    for (const k of this.changed) {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmp(list[mid] as string, k) < 0) lo = mid + 1;
        else hi = mid;
      }
      const present = list[lo] === k;
      if (this.entries.has(k) && !present) list.splice(lo, 0, k);
      else if (!this.entries.has(k) && present) list.splice(lo, 1);
    }
    this.changed.clear();
    return list;
  }

  /** Ids of the documents holding `key`. */
  lookup(key: string): Iterable<string> {
    const held = this.entries.get(key);
    return held === undefined ? [] : typeof held === "string" ? [held] : held;
  }

  /** The first key of `keys` already held by a document other than `id`, if any. */
  conflict(id: string, keys: string[]): string | undefined {
    if (!this.unique) return undefined;
    for (const k of keys) {
      const held = this.entries.get(k);
      if (held === undefined || held === id) continue;
      for (const other of this.lookup(k)) if (other !== id) return k;
    }
    return undefined;
  }

  /** The DuplicateKey error for `doc` colliding on `key`. */
  duplicateKeyError(ns: string, doc: Doc, key: string): CommandError {
    const values = this.entriesOf(doc).find((e) => e.key === key)?.values ?? [];
    const keyValue: Doc = {};
    for (const [i, f] of this.fields.entries()) keyValue[f] = values[i] ?? null;
    const collation = this.spec.collation ? ` collation: ${formatDoc(this.spec.collation as Doc)}` : "";
    return new CommandError(
      11000,
      `E11000 duplicate key error collection: ${ns} index: ${this.name}${collation} dup key: ${formatDoc(keyValue)}`,
      { keyPattern: this.spec.key, keyValue },
    );
  }
}

function dedupe(vals: unknown[]): unknown[] {
  if (vals.length < 2) return vals;
  const seen = new Map<string, unknown>();
  for (const v of vals) seen.set(keyOf(v), v);
  return [...seen.values()];
}

export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}_${String(v)}`)
    .join("_");
}

const allowedOptions = new Set([
  "key",
  "name",
  "unique",
  "sparse",
  "partialFilterExpression",
  "collation",
  "expireAfterSeconds",
  "background",
  "hidden",
  "v",
  "ns",
  "weights",
  "default_language",
  "language_override",
  "textIndexVersion",
  "2dsphereIndexVersion",
  "bits",
  "min",
  "max",
  "wildcardProjection",
]);

/** Validates a createIndexes entry and returns the spec as listIndexes reports it. */
export function normaliseIndexSpec(raw: Doc): Doc {
  if (!isPlainObject(raw.key) || Object.keys(raw.key).length === 0) {
    throw new CommandError(67, "The 'key' field is a required property of an index specification");
  }
  for (const k of Object.keys(raw)) {
    if (!allowedOptions.has(k)) {
      throw new CommandError(197, `The field '${k}' is not valid for an index specification. Specification: ${formatDoc(raw)}`);
    }
  }
  const name = typeof raw.name === "string" ? raw.name : defaultIndexName(raw.key);
  const spec: Doc = { v: 2, key: raw.key, name };
  if (raw.unique === true) spec.unique = true;
  if (raw.sparse === true) spec.sparse = true;
  if (raw.partialFilterExpression !== undefined) {
    if (!isPlainObject(raw.partialFilterExpression)) throw new CommandError(2, "partialFilterExpression must be an object");
    spec.partialFilterExpression = raw.partialFilterExpression;
  }
  const collation = normaliseCollation(raw.collation);
  if (collation !== undefined) spec.collation = collation;
  if (raw.expireAfterSeconds !== undefined) spec.expireAfterSeconds = raw.expireAfterSeconds;
  if (raw.hidden === true) spec.hidden = true;
  return spec;
}

/** Whether two specs describe the same index apart from the name. */
export function sameIndexOptions(a: Doc, b: Doc): boolean {
  const strip = (s: Doc): Doc => {
    const { name: _n, v: _v, background: _b, ...rest } = s;
    return rest;
  };
  return keyOf(strip(a)) === keyOf(strip(b));
}

export function sameKey(a: Doc, b: Doc): boolean {
  return keyOf(a.key) === keyOf(b.key) && keyOf(a.collation ?? null) === keyOf(b.collation ?? null);
}
