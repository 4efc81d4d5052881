// Value helpers shared by storage, indexes and commands: canonical keys, cloning, path access and
// the mongo-shell-like printing used in error messages.

export type Doc = Record<string, unknown>;

function bsonType(v: object): string | undefined {
  const t = (v as { _bsontype?: unknown })._bsontype;
  return typeof t === "string" ? t : undefined;
}

export function isPlainObject(v: unknown): v is Doc {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  if (bsonType(v) !== undefined) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A string that is equal for two values exactly when MongoDB considers them equal
 * (numbers of any width compare by value; embedded documents are field-order sensitive).
 */
export function keyOf(v: unknown): string {
  if (v === undefined || v === null) return "N";
  switch (typeof v) {
    case "number":
      return "n" + (Object.is(v, -0) ? 0 : v);
    case "bigint":
      return "n" + v.toString();
    case "string":
      return "s" + v;
    case "boolean":
      return v ? "b1" : "b0";
    case "object":
      break;
    default:
      return "?" + String(v);
  }
  if (Array.isArray(v)) return "a" + JSON.stringify(v.map(keyOf));
  if (v instanceof Date) return "d" + v.getTime();
  if (v instanceof RegExp) return "r" + v.source + "/" + v.flags;
  const t = bsonType(v);
  if (t !== undefined) {
    switch (t) {
      case "ObjectId":
        return "o" + (v as { toHexString(): string }).toHexString();
      case "Long":
      case "Int32":
      case "Double":
        return "n" + String((v as { toString(): string }).toString());
      case "Decimal128":
        return "n" + Number((v as { toString(): string }).toString());
      case "Binary": {
        const b = v as { sub_type: number; toString(enc: string): string };
        return "B" + b.sub_type + ":" + b.toString("base64");
      }
      case "MinKey":
        return "m";
      case "MaxKey":
        return "M";
      case "BSONRegExp": {
        const r = v as { pattern: string; options: string };
        return "r" + r.pattern + "/" + r.options;
      }
      default:
        return t + ":" + JSON.stringify(v);
    }
  }
  const parts: string[] = [];
  for (const [k, val] of Object.entries(v as Doc)) parts.push(JSON.stringify(k) + ":" + JSON.stringify(keyOf(val)));
  return "{" + parts.join(",") + "}";
}

/** The value `map` holds for `key`, first storing `make()` there when it holds none. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** Deep copy of plain objects and arrays; BSON value objects are immutable and shared. */
export function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const k of Object.keys(v)) out[k] = clone(v[k]);
    return out as T;
  }
  return v;
}

/** Whether a path descends into `v` by field name (documents, not arrays, dates or BSON values). */
function hasFields(v: unknown): v is Doc {
  return v !== null && typeof v === "object" && !Array.isArray(v) && bsonType(v) === undefined && !(v instanceof Date);
}

/**
 * Values reached by a dotted path the way a multikey index sees them: arrays along the way and at
 * the end are expanded, a missing field yields `undefined`. The result may be the document's own
 * array; callers must not modify it.
 */
export function pathValues(doc: unknown, path: string): unknown[] {
  if (!path.includes(".") && hasFields(doc)) {
    const v = doc[path];
    if (!Array.isArray(v)) return [v];
    return v.length === 0 ? [undefined] : v;
  }
  const parts = path.split(".");
  const out: unknown[] = [];
  const walk = (v: unknown, i: number): void => {
    if (i === parts.length) {
      if (Array.isArray(v)) {
        if (v.length === 0) out.push(undefined);
        else for (const e of v) out.push(e);
      } else out.push(v);
      return;
    }
    const p = parts[i] as string;
    if (Array.isArray(v)) {
      if (/^\d+$/.test(p)) {
        walk(v[Number(p)], i + 1);
        return;
      }
      if (v.length === 0) {
        out.push(undefined);
        return;
      }
      for (const e of v) walk(e, i);
      return;
    }
    if (hasFields(v)) {
      walk(v[p], i + 1);
      return;
    }
    out.push(undefined);
  };
  walk(doc, 0);
  return out;
}

export function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i] as string;
    const next = cur[p];
    if (!isPlainObject(next)) cur[p] = {};
    cur = cur[p] as Doc;
  }
  cur[parts[parts.length - 1] as string] = value;
}

/** Printing as the server does in `dup key: { ... }` messages. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return v.length === 0 ? "[]" : "[ " + v.map(formatValue).join(", ") + " ]";
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (v instanceof RegExp) return `/${v.source}/${v.flags}`;
  if (typeof v === "object") {
    const t = bsonType(v);
    if (t === "ObjectId") return `ObjectId('${(v as { toHexString(): string }).toHexString()}')`;
    if (t === "Long" || t === "Int32" || t === "Double" || t === "Decimal128") return String(v.toString());
    if (t === "Binary") {
      const b = v as { sub_type: number; toString(enc: string): string };
      return b.sub_type === 4
        ? `UUID("${b.toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-")}")`
        : `BinData(${b.sub_type}, ${b.toString("hex").toUpperCase()})`;
    }
    if (t !== undefined) return String(v);
    return formatDoc(v as Doc);
  }
  return String(v);
}

export function formatDoc(d: Doc): string {
  const entries = Object.entries(d);
  if (entries.length === 0) return "{}";
  return "{ " + entries.map(([k, v]) => `${k}: ${formatValue(v)}`).join(", ") + " }";
}
