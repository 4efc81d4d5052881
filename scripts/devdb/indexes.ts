import { Query } from "mingo";
import { CommandError } from "./errors.ts";
import { type Doc, formatDoc, isPlainObject, keyOf, pathValues } from "./values.ts";

export interface IndexKey {
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
  readonly strength: number | null;
  /** key string → ids (as keyOf(_id)) of the documents holding it. */
  readonly entries = new Map<string, Set<string>>();

  constructor(spec: Doc) {
    this.spec = spec;
    this.name = String(spec.name);
    this.fields = Object.keys(spec.key as Doc);
    this.unique = spec.unique === true || this.name === "_id_";
    this.sparse = spec.sparse === true;
    this.partial = isPlainObject(spec.partialFilterExpression) ? new Query(spec.partialFilterExpression) : null;
    const c = spec.collation as Doc | undefined;
    this.strength = c ? Number(c.strength ?? 3) : null;
  }

  /** Whether equality lookups on `field` can be answered from this index alone. */
  servesEquality(field: string): boolean {
    return this.fields.length === 1 && this.fields[0] === field && !this.sparse && this.partial === null && this.strength === null;
  }

  keys(doc: Doc): IndexKey[] {
    const perField = this.fields.map((f) => pathValues(doc, f));
    if (this.sparse && perField.every((vals) => vals.every((v) => v === undefined))) return [];
    if (this.partial !== null && !this.partial.test(doc)) return [];
    let tuples: unknown[][] = [[]];
    for (const vals of perField) {
      const unique = dedupe(vals);
      const next: unknown[][] = [];
      for (const t of tuples) for (const v of unique) next.push([...t, v === undefined ? null : v]);
      tuples = next;
    }
    return tuples.map((values) => ({
      key: values.length === 1 ? collatedKey(values[0], this.strength) : JSON.stringify(values.map((v) => collatedKey(v, this.strength))),
      values,
    }));
  }

  add(id: string, keys: IndexKey[]): void {
    for (const k of keys) {
      let set = this.entries.get(k.key);
      if (set === undefined) {
        set = new Set();
        this.entries.set(k.key, set);
      }
      set.add(id);
    }
  }

  remove(id: string, keys: IndexKey[]): void {
    for (const k of keys) {
      const set = this.entries.get(k.key);
      if (set === undefined) continue;
      set.delete(id);
      if (set.size === 0) this.entries.delete(k.key);
    }
  }

  /** The first key of `keys` already held by a document other than `id`, if any. */
  conflict(id: string, keys: IndexKey[], ignore?: (otherId: string) => boolean): IndexKey | undefined {
    if (!this.unique) return undefined;
    for (const k of keys) {
      const set = this.entries.get(k.key);
      if (set === undefined) continue;
      for (const other of set) if (other !== id && !(ignore?.(other) ?? false)) return k;
    }
    return undefined;
  }

  duplicateKeyError(ns: string, k: IndexKey): CommandError {
    const keyValue: Doc = {};
    this.fields.forEach((f, i) => (keyValue[f] = k.values[i] ?? null));
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
export function normaliseIndexSpec(raw: Doc, defaultCollation?: Doc): Doc {
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
  const collation = raw.collation !== undefined ? normaliseCollation(raw.collation) : defaultCollation;
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
