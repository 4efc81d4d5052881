import { EJSON } from "bson";
import type { Db, Document } from "mongodb";
import { type MigrationContext, RefusedError } from "./types.ts";

export interface IndexDef {
  collection: string;
  name: string;
  key: Record<string, 1 | -1>;
  unique?: boolean;
  collation?: { locale: string; strength: number };
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
}

export const indexLabel = (def: { collection: string; name: string }): string => `${def.collection}.${def.name}`;

const NAMESPACE_NOT_FOUND = 26;
const INDEX_NOT_FOUND = 27;
const DUPLICATE_KEY = 11000;
const INDEX_CONFLICT_CODES = new Set<unknown>([85, 86]); // IndexOptionsConflict, IndexKeySpecsConflict

function codeOf(err: unknown): unknown {
  return typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
}

export async function listIndexes(db: Db, collection: string): Promise<Document[]> {
  try {
    return await db.collection(collection).listIndexes().toArray();
  } catch (err) {
    if (codeOf(err) === NAMESPACE_NOT_FOUND) return [];
    throw err;
  }
}

const canonical = (v: unknown): string => EJSON.stringify(v ?? null, { relaxed: false });

function collationText(c: Document | undefined): string {
  return c === undefined ? "simple" : canonical({ locale: c.locale, strength: c.strength ?? 3 });
}

/** Whether an index reported by listIndexes is `def` (name aside). */
export function sameDefinition(existing: Document, def: IndexDef): boolean {
  return (
    canonical(existing.key) === canonical(def.key) &&
    (existing.unique === true) === (def.unique === true) &&
    existing.sparse !== true &&
    existing.hidden !== true &&
    canonical(existing.partialFilterExpression) === canonical(def.partialFilterExpression) &&
    (existing.expireAfterSeconds ?? null) === (def.expireAfterSeconds ?? null) &&
    collationText(existing.collation as Document | undefined) === collationText(def.collation)
  );
}

function describe(index: Document): string {
  const { v: _v, ns: _ns, ...rest } = index;
  return EJSON.stringify(rest);
}

export interface EnsureResult {
  /** Created by this call (or, in a dry run, that would be). */
  created: string[];
  /** Already there with the same definition (possibly under another name); left alone by DOWN. */
  present: string[];
}

export interface IndexPlan {
  missing: { collection: string; defs: IndexDef[] }[];
  present: string[];
}

/**
 * Which of `defs` are missing, read-only. An index with the same name but another definition
 * is refused (never replaced), so a migration can check this before it writes anything.
 */
export async function planIndexes(db: Db, defs: readonly IndexDef[]): Promise<IndexPlan> {
  const byCollection = new Map<string, IndexDef[]>();
  for (const def of defs) byCollection.set(def.collection, [...(byCollection.get(def.collection) ?? []), def]);
  const plan: IndexPlan = { missing: [], present: [] };
  for (const [collection, wanted] of byCollection) {
    const existing = await listIndexes(db, collection);
    const missing: IndexDef[] = [];
    for (const def of wanted) {
      const sameName = existing.find((ix) => ix.name === def.name);
      if (sameName !== undefined) {
        if (!sameDefinition(sameName, def)) {
          throw new RefusedError(
            `index ${indexLabel(def)} already exists with another definition (${describe(sameName)}); drop or rename it after checking what uses it`,
            { index: indexLabel(def), existing: sameName },
          );
        }
        plan.present.push(indexLabel(def));
        continue;
      }
      const equivalent = existing.find((ix) => sameDefinition(ix, def));
      if (equivalent !== undefined) plan.present.push(`${collection}.${String(equivalent.name)}`);
      else missing.push(def);
    }
    if (missing.length > 0) plan.missing.push({ collection, defs: missing });
  }
  return plan;
}

/**
 * Creates the indexes that are missing (see planIndexes). If a build fails, the indexes this
 * call created are dropped again, so a refusal leaves the database as it was.
 */
export async function ensureIndexes(ctx: MigrationContext, defs: readonly IndexDef[]): Promise<EnsureResult> {
  const { missing: plan, present } = await planIndexes(ctx.db, defs);
  const created: string[] = [];
  if (ctx.dryRun) return { created: plan.flatMap((p) => p.defs.map(indexLabel)), present };
  for (const { collection, defs: missing } of plan) {
    await ctx.checkpoint(`create indexes on ${collection}`);
    try {
      await ctx.db.collection(collection).createIndexes(missing.map(({ collection: _c, ...spec }) => spec));
    } catch (err) {
      await dropIndexes(ctx.db, created.map(parseLabel));
      if (codeOf(err) === DUPLICATE_KEY) {
        throw new RefusedError(
          `cannot create a unique index on ${collection}: existing documents hold duplicate values (${(err as Error).message}); nothing was changed`,
          {
            collection,
            error: (err as Error).message,
          },
        );
      }
      if (INDEX_CONFLICT_CODES.has(codeOf(err))) {
        throw new RefusedError(
          `an index on ${collection} conflicts with an existing one: ${(err as Error).message}; nothing was changed`,
          { collection },
        );
      }
      throw err;
    }
    created.push(...missing.map(indexLabel));
    ctx.log.info(`created ${missing.map(indexLabel).join(", ")}`);
  }
  return { created, present };
}

export function parseLabel(label: string): { collection: string; name: string } {
  const dot = label.indexOf(".");
  return { collection: label.slice(0, dot), name: label.slice(dot + 1) };
}

/** Drops the named indexes; ones already gone are not an error. Returns those dropped. */
export async function dropIndexes(db: Db, indexes: readonly { collection: string; name: string }[]): Promise<string[]> {
  const dropped: string[] = [];
  for (const ix of indexes) {
    try {
      await db.collection(ix.collection).dropIndex(ix.name);
      dropped.push(indexLabel(ix));
    } catch (err) {
      if (codeOf(err) !== INDEX_NOT_FOUND && codeOf(err) !== NAMESPACE_NOT_FOUND) throw err;
    }
  }
  return dropped;
}

/** Of `indexes`, those that exist right now. */
export async function existingOf(db: Db, indexes: readonly { collection: string; name: string }[]): Promise<string[]> {
  const found: string[] = [];
  const cache = new Map<string, Document[]>();
  for (const ix of indexes) {
    let list = cache.get(ix.collection);
    if (list === undefined) {
      list = await listIndexes(db, ix.collection);
      cache.set(ix.collection, list);
    }
    if (list.some((e) => e.name === ix.name)) found.push(indexLabel(ix));
  }
  return found;
}

export interface DuplicateKey {
  index: string;
  /** The key value (field → value) as the index would see it, before case folding. */
  value: Record<string, unknown>;
  count: number;
  documents: Document[];
}

const DUPLICATE_DOCS_SHOWN = 20;

/**
 * The key values of a unique index that more than one document holds (missing fields count
 * as null, as in the index; a strength < 3 collation folds case), found by one projected
 * scan of the collection. `show` adds fields to each listed document.
 */
export async function findDuplicateKeys(db: Db, def: IndexDef, show: readonly string[] = ["id"]): Promise<DuplicateKey[]> {
  const fields = Object.keys(def.key);
  const projection = Object.fromEntries([...fields, ...show].map((f) => [f, 1]));
  const foldCase = def.collation !== undefined && def.collation.strength < 3;
  const keyOf = (v: unknown): string =>
    typeof v === "string" && foldCase ? `s:${v.normalize("NFC").toLowerCase()}` : EJSON.stringify(v ?? null, { relaxed: true });
  const groups = new Map<string, { value: Record<string, unknown>; count: number; docs: Document[] }>();
  const cursor = db.collection(def.collection).find(def.partialFilterExpression ?? {}, { projection, batchSize: 1000 });
  for await (const doc of cursor) {
    const value = Object.fromEntries(fields.map((f) => [f, doc[f] ?? null]));
    const key = fields.map((f) => keyOf(doc[f])).join("\u0000");
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { value, count: 1, docs: [doc] });
    else if (++group.count <= DUPLICATE_DOCS_SHOWN) group.docs.push(doc);
  }
  const duplicates: DuplicateKey[] = [];
  for (const { value, count, docs } of groups.values()) {
    if (count > 1) duplicates.push({ index: indexLabel(def), value, count, documents: docs });
  }
  return duplicates;
}

/**
 * The up/down of a migration that only adds indexes: up creates the missing ones (a dry run
 * lists them); down drops exactly those up recorded as created (all of `defs` when nothing was
 * recorded), leaving the collections and their documents alone.
 */
export function indexOnlyMigration(defs: readonly IndexDef[]) {
  return {
    async up(ctx: MigrationContext) {
      const { created, present } = await ensureIndexes(ctx, defs);
      return ctx.dryRun ? { would_create: created, already_present: present } : { created, already_present: present };
    },
    async down(ctx: MigrationContext) {
      const recorded = ctx.appliedSummary?.created;
      const targets = Array.isArray(recorded) ? recorded.map((label) => parseLabel(String(label))) : defs;
      if (ctx.dryRun) return { would_drop: await existingOf(ctx.db, targets) };
      await ctx.checkpoint("drop indexes");
      const dropped = await dropIndexes(ctx.db, targets);
      return { dropped, already_gone: targets.map(indexLabel).filter((l) => !dropped.includes(l)) };
    },
  };
}
